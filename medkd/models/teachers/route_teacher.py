"""A frozen teacher that follows its own training route."""
import os.path as osp
from typing import Dict, List, Optional

import torch

from medkd.registry import MODELS
from medkd.utils.checkpoint import (classifier_state_dict, file_sha256,
                                    safe_load)
from .frozen_teacher import FrozenTeacher
from .route_manifest import read_manifest

__all__ = ['RouteTeacher', 'resolve_route']


@MODELS.register_module()
class RouteTeacher(FrozenTeacher):
    """A :class:`FrozenTeacher` whose weights move along the checkpoints its
    training passed through (multi-part KD, Garg & Singh on Kather 2016).

    Route checkpoint ``i`` teaches student epochs ``start_i <= e < end_i``.
    At build time every file is checked (it exists, loads with
    ``weights_only=True`` and fits the model), one file at a time, and the
    teacher starts from the first. :class:`~medkd.engine.hooks.
    TeacherSwitchHook`, which :class:`~medkd.engine.MedKDRunner` always
    registers (a derived config that replaces ``custom_hooks`` cannot lose
    it), calls :meth:`switch` at each student epoch whose checkpoint
    differs; only one set of weights is in memory.

    ``route`` takes one of:

    - ``dict(manifest='work_dirs/<teacher>/route/manifest.json')``, written
      by :class:`~medkd.engine.hooks.TeacherRouteSaverHook`: the checkpoint
      saved after teacher epoch ``k`` teaches student epochs from the
      previous checkpoint's epoch up to ``k`` (saved every 5 epochs: epochs
      0-4 use epoch 5's, 5-9 epoch 10's, ...). An optional ``interval``
      replaces that with ``min(e // interval, n - 1)``, and is required for
      iteration-based manifests. Relative file names are relative to the
      manifest's folder.
    - ``dict(checkpoints=[path, ...], interval=5)``: checkpoint
      ``min(e // interval, n - 1)`` for student epoch ``e`` (0-based).
    - ``dict(schedule=[(0, path), (start_epoch, path), ...])``: each
      checkpoint from its start epoch on (starts increasing, the first 0).

    With more student epochs than the route covers the last checkpoint
    stays (the switch hook warns once).

    Args:
        route (dict): The route, see above.
        route_key (str, optional): How errors name ``route`` (filled in by
            :class:`~medkd.models.CheckpointSequence` as ``model.route``).
            Defaults to ``model.teachers.<name>.route``.
        **kwargs: :class:`FrozenTeacher`'s, without ``ckpt`` (the route's
            first checkpoint is the initial teacher).
    """

    FILLED_IN = FrozenTeacher.FILLED_IN + ('route_key', )

    def __init__(self, route: dict, route_key: Optional[str] = None,
                 **kwargs):
        name = kwargs.get('name', 'teacher')
        key = route_key or f'model.teachers.{name}.route'
        if kwargs.get('ckpt'):
            raise ValueError(
                f'model.teachers.{name}.ckpt ({kwargs["ckpt"]}) and {key} '
                "both set the teacher's weights: the route's first "
                'checkpoint is the initial teacher, leave ckpt unset.')
        entries = resolve_route(route, key)
        shapes = [check_route_file(e['file'], e['key']) for e in entries]
        super().__init__(**dict(kwargs, ckpt=None))
        expected = {k: tuple(v.shape)
                    for k, v in self.model.state_dict().items()}
        for entry, found in zip(entries, shapes):
            check_fits(entry, found, expected, f'{self.key}.model')
        self.route: List[dict] = entries
        self.route_index = 0
        self.load(entries[0]['file'], entries[0]['key'])

    def index_at(self, epoch: int) -> int:
        """Index of the route checkpoint scheduled for (0-based) student
        ``epoch``: the last one whose start epoch is ``<= epoch``."""
        return max(i for i, e in enumerate(self.route) if e['start'] <= epoch)

    def exhausted(self, epoch: int) -> bool:
        """Whether student ``epoch`` is past the stretch of the route's last
        checkpoint (it then keeps teaching)."""
        end = self.route[-1]['end']
        return end is not None and epoch >= end

    def switch(self, index: int) -> str:
        """Load route checkpoint ``index`` and return its path."""
        if not 0 <= index < len(self.route):
            raise IndexError(f'Route index {index} out of range: the route '
                             f'has {len(self.route)} checkpoints.')
        entry = self.route[index]
        self.load(entry['file'], entry['key'])
        self.route_index = index
        return entry['file']

    def file_mismatch(self, saved: Dict[str, str]) -> Optional[str]:
        """A checkpoint saved at another point of the route is fine (the
        switch hook loads the checkpoint of the resumed epoch) as long as
        the file it was trained with is still there, unchanged."""
        if self.sha256 == saved['sha256']:
            return None
        path = saved['ckpt']
        if not osp.isfile(path):
            return (f'{self.key}: the route checkpoint {path} the checkpoint '
                    'was trained with is missing.')
        digest = file_sha256(path)
        if digest != saved['sha256']:
            return (f'{self.key}: the route checkpoint {path} changed since '
                    f'the checkpoint was saved (sha256 '
                    f'{saved["sha256"][:12]}… then, {digest[:12]}… now).')
        return None


def resolve_route(route: dict, key: str = 'model.route') -> List[dict]:
    """Turn a route config into ``[{'file', 'start', 'end', 'key'}, ...]``:
    the checkpoint teaching student epochs ``start <= e < end`` (``end``
    None: until training ends) and the config key naming it in errors."""
    if not isinstance(route, dict):
        raise TypeError(f'{key} must be a dict, got {route!r}')
    unknown = set(route) - {'manifest', 'checkpoints', 'schedule', 'interval'}
    if unknown:
        raise KeyError(f'{key} has unknown keys {sorted(unknown)}; '
                       'allowed: manifest, checkpoints, schedule, interval')
    sources = [
        k for k in ('manifest', 'checkpoints', 'schedule')
        if route.get(k) is not None
    ]
    if len(sources) != 1:
        raise ValueError(f'{key} must set exactly one of manifest, '
                         f'checkpoints, schedule; got {sources or "none"}')
    interval = route.get('interval')
    if interval is not None and (not isinstance(interval, int)
                                 or interval < 1):
        raise ValueError(f'{key}.interval must be a positive int, '
                         f'got {interval!r}')
    if 'schedule' in sources:
        if interval is not None:
            raise ValueError(f'{key}.interval does not apply to an '
                             f'explicit {key}.schedule')
        return _from_schedule(route['schedule'], key)
    if 'checkpoints' in sources:
        files = list(route['checkpoints'])
        keys = [f'{key}.checkpoints[{i}]' for i in range(len(files))]
        ends = None
        interval = interval or 5
    else:
        files, keys, ends = _from_manifest(route['manifest'], interval, key)
    if not files:
        raise ValueError(f'{key}.{sources[0]} lists no checkpoints')
    if ends is None:
        starts = [i * interval for i in range(len(files))]
        ends = [s + interval for s in starts]
    else:
        starts = [0] + ends[:-1]
    return [
        dict(file=f, start=s, end=e, key=k)
        for f, s, e, k in zip(files, starts, ends, keys)
    ]


def _from_manifest(manifest: str, interval: Optional[int], key: str):
    """``(files, keys, ends or None)`` of a route manifest."""
    if not osp.isfile(manifest):
        raise FileNotFoundError(
            f'Route manifest "{manifest}" ({key}.manifest) not found: the '
            "teacher config must have custom_hooks=[dict(type='"
            "TeacherRouteSaverHook', ...)] and its training must have run "
            '(the hook writes the manifest with the first route checkpoint, '
            'after `interval` epochs or at the last epoch).')
    entries = read_manifest(manifest)
    unit = 'epoch' if all('epoch' in e for e in entries) else 'iter'
    steps = [e[unit] for e in entries]
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f'Route manifest "{manifest}": {unit}s must '
                         f'increase, got {steps}')
    if unit == 'iter' and interval is None:
        raise ValueError(
            f'Route manifest "{manifest}" counts iterations: set '
            f'{key}.interval (student epochs per checkpoint).')
    folder = osp.dirname(manifest)
    files = [osp.join(folder, e['file']) for e in entries]
    keys = [f'{key}.manifest ({manifest}) entry {i}, {unit} {s}'
            for i, s in enumerate(steps)]
    return files, keys, None if interval else steps


def _from_schedule(schedule, key: str) -> List[dict]:
    entries = []
    for i, item in enumerate(schedule):
        item_key = f'{key}.schedule[{i}]'
        if not (isinstance(item, (list, tuple)) and len(item) == 2
                and isinstance(item[0], int)):
            raise TypeError(f'{item_key} must be (start_epoch, checkpoint), '
                            f'got {item!r}')
        entries.append(dict(file=item[1], start=item[0], end=None,
                            key=item_key))
    starts = [e['start'] for e in entries]
    if not entries or starts[0] != 0 or any(
            b <= a for a, b in zip(starts, starts[1:])):
        raise ValueError(f'{key}.schedule start epochs must begin at 0 '
                         f'and increase, got {starts}')
    return entries


def check_route_file(path: str, key: str) -> Dict[str, tuple]:
    """Load one route checkpoint safely and return its classifier
    ``{name: shape}`` (the file is not kept in memory)."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Route checkpoint "{path}" ({key}) does not exist.')
    try:
        checkpoint = safe_load(path, map_location='cpu')
    except RuntimeError as err:
        raise RuntimeError(
            f'Route checkpoint "{path}" ({key}) cannot be loaded: {err}'
        ) from None
    return {
        k: tuple(v.shape)
        for k, v in classifier_state_dict(checkpoint).items()
        if isinstance(v, torch.Tensor)
    }


def check_fits(entry: dict, found: Dict[str, tuple],
               expected: Dict[str, tuple], model_key: str) -> None:
    """Raise if a route checkpoint's weights do not fit the teacher."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = sorted(
        k for k in set(found) & set(expected) if found[k] != expected[k])
    if missing or unexpected or wrong:
        raise ValueError(
            f'Route checkpoint "{entry["file"]}" ({entry["key"]}) does not '
            f'fit the architecture in {model_key}: missing {missing[:5]}, '
            f'unexpected {unexpected[:5]}, other shapes {wrong[:5]}.')
