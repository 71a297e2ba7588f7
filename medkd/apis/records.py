"""Machine-readable records of the results tables in the docs.

Every results table in README.md, docs/ and configs/*/README.md is printed
by a command written next to it, which also writes a record
(``docs/results/<name>.json``, via the command's ``--json``): the command as
run, medkd's commit and code fingerprint, the package versions, the
machine, the wall time, the printed table and the tool's numbers.
``tests/test_docs/test_results_records.py`` checks that each record's table
is in the docs verbatim and was made by the code on disk.
"""
import json
import os
import os.path as osp
import platform
import subprocess
import sys
from importlib.metadata import version
from typing import Optional

__all__ = ['write_record']

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PACKAGES = ('torch', 'mmengine', 'mmpretrain', 'numpy', 'scikit-learn')


def _git(*args) -> Optional[str]:
    try:
        return subprocess.run(['git', '-C', ROOT, *args], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except OSError:
        return None


def write_record(path: str, table: str, seconds: Optional[float] = None,
                 **results) -> dict:
    """Write the record of one table to ``path`` and return it.

    Args:
        path (str): The JSON file (e.g. ``docs/results/kd.json``).
        table (str): The table as printed (markdown).
        seconds (float, optional): The command's wall time.
        **results: The tool's numbers (e.g. ``stages=[...]``).
    """
    from .seeds import code_fingerprint
    record = dict(
        command=' '.join(['python', osp.relpath(sys.argv[0], ROOT)
                          if osp.isabs(sys.argv[0]) else sys.argv[0],
                          *sys.argv[1:]]),
        commit=_git('rev-parse', 'HEAD') or None,
        uncommitted_changes=bool(_git('status', '--porcelain', '--', 'medkd',
                                      'configs', 'tools')),
        code_fingerprint=code_fingerprint(),
        packages={name: version(name) for name in PACKAGES},
        python=platform.python_version(),
        machine=dict(cpus=os.cpu_count(), platform=platform.platform()),
        wall_seconds=None if seconds is None else round(seconds, 1),
        table=table, **results)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(record, f, indent=1)
    return record
