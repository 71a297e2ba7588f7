"""The manifest of a teacher's training route: written by
:class:`~medkd.engine.hooks.TeacherRouteSaverHook`, read by
:class:`~medkd.models.teachers.RouteTeacher` (both import it from here,
below the model and the hook)."""
import json
from typing import List

from medkd.utils.fileio import atomic_write

MANIFEST = 'manifest.json'


def read_manifest(path: str) -> List[dict]:
    """The entries of a route manifest (``[{'epoch'|'iter': int, 'file':
    str}, ...]``, files relative to the manifest's folder)."""
    with open(path) as f:
        entries = json.load(f)
    valid = isinstance(entries, list) and all(
        isinstance(e, dict) and 'file' in e and ('epoch' in e or 'iter' in e)
        for e in entries)
    if not valid:
        raise ValueError(f'Route manifest "{path}" must be a JSON list of '
                         '{"epoch" (or "iter"): int, "file": str} objects.')
    return entries


def write_manifest(path: str, entries: List[dict]) -> None:
    """Write the entries (as :func:`read_manifest` returns them)
    atomically: a reader never sees a half-written manifest."""
    text = json.dumps(entries, indent=2).encode()
    atomic_write(path, lambda f: f.write(text))
