"""Multi-part KD: the student follows its teacher's training route."""
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.logging import MMLogger

from medkd.models.teachers.route_manifest import read_manifest
from medkd.registry import MODELS
from medkd.utils.checkpoint import classifier_state_dict, safe_load
from .base import load_classifier_weights
from .kd import VanillaKD


@MODELS.register_module()
class CheckpointSequence(VanillaKD):
    """Distil from the checkpoints a teacher passed through while training
    (Garg & Singh, multi-part KD on Kather 2016), one stretch of student
    epochs per checkpoint.

    .. math::
        L = w_{cls} \\cdot \\mathrm{CE}(z_s, y)
            + w_{kd} \\cdot T^2 \\cdot \\mathrm{KL}(p_t^T \\| p_s^T)

    (:class:`VanillaKD`'s loss; the paper's ``λ`` is ``kd_weight`` with
    ``cls_weight = 1 - λ``) logged as ``loss_cls``
    and ``loss_kd``, where the teacher's weights are
    those of the route checkpoint scheduled for the current student epoch.
    Only one teacher module exists; :class:`~medkd.engine.hooks.
    TeacherSwitchHook` loads the next checkpoint into it at each switch
    (:meth:`load_route_checkpoint`). At build time the route is only
    resolved and checked (every file exists, loads with
    ``weights_only=True`` and fits the teacher), one file at a time; the
    teacher starts from the route's first checkpoint.

    ``route`` takes one of:

    - ``dict(manifest='work_dirs/<teacher>/route/manifest.json')``, written by
      :class:`~medkd.engine.hooks.TeacherRouteSaverHook`: the checkpoint
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

    With more student epochs than the route covers the last checkpoint stays
    (the switch hook warns once). ``route=None`` distils from
    ``teachers.<name>.ckpt`` throughout (vanilla KD), with a warning.

    Args:
        student (dict): Student classifier config.
        teachers (dict): Exactly one teacher, see :class:`BaseDistiller`;
            leave its ``ckpt`` unset when a route is given.
        route (dict, optional): The teacher's route, see above.
        cls_weight (float): Weight of the classification loss.
            Defaults to 0.5.
        kd_weight (float): Weight ``λ`` of the distillation term.
            Defaults to 0.5.
        kd_loss (dict, optional): Soft-label loss config, any of
            :class:`VanillaKD`'s. Defaults to ``KDLoss`` at ``T = 5`` (the
            paper's) for softmax heads, ``SoftBCELoss`` for sigmoid heads.
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    default_temperature = 5.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 route: Optional[dict] = None,
                 cls_weight: float = 0.5,
                 kd_weight: float = 0.5,
                 kd_loss: Optional[dict] = None,
                 **kwargs):
        if not isinstance(teachers, dict) or len(teachers) != 1:
            raise ValueError('CheckpointSequence takes exactly one teacher in '
                             f'`teachers` (its route gives its weights over '
                             f'time), got {list(teachers or {})}')
        (name, teacher_cfg), = teachers.items()
        entries = resolve_route(route)
        shapes = [check_route_file(e['file'], e['key']) for e in entries]
        if entries:
            if teacher_cfg.get('ckpt'):
                raise ValueError(
                    f'teachers.{name}.ckpt ({teacher_cfg["ckpt"]}) and route '
                    'both set the teacher\'s weights: the route\'s first '
                    'checkpoint is the initial teacher, leave ckpt unset.')
            teacher_cfg = dict(teacher_cfg, ckpt=entries[0]['file'])
        super().__init__(
            student, {name: teacher_cfg},
            cls_weight=cls_weight,
            kd_weight=kd_weight,
            kd_loss=kd_loss,
            **kwargs)
        self.teacher_name = name
        self.route: List[dict] = entries
        self.route_index: Optional[int] = 0 if entries else None
        expected = {
            k: tuple(v.shape)
            for k, v in self.teachers[name].state_dict().items()
        }
        for entry, found in zip(entries, shapes):
            check_fits(entry, found, expected, f'teachers.{name}.model')
        if not entries:
            MMLogger.get_current_instance().warning(
                'CheckpointSequence has no route (model.route is None): it '
                f'distils from teachers.{name}.ckpt '
                f'({teacher_cfg.get("ckpt")}) throughout, i.e. vanilla KD.')

    # ------------------------------------------------------------------
    # the route
    # ------------------------------------------------------------------
    def route_index_at(self, epoch: int) -> int:
        """Index of the route checkpoint scheduled for (0-based) student
        ``epoch``: the last one whose start epoch is ``<= epoch``."""
        if not self.route:
            raise RuntimeError('CheckpointSequence has no route (model.route '
                               'is None): there is nothing to schedule.')
        return max(i for i, e in enumerate(self.route) if e['start'] <= epoch)

    def route_exhausted(self, epoch: int) -> bool:
        """Whether student ``epoch`` is past the stretch of the route's last
        checkpoint (it then keeps teaching)."""
        end = self.route[-1]['end'] if self.route else None
        return end is not None and epoch >= end

    def load_route_checkpoint(self, index: int) -> str:
        """Load route checkpoint ``index`` into the (frozen, eval-mode)
        teacher and return its path."""
        if not 0 <= index < len(self.route):
            raise IndexError(f'Route index {index} out of range: the route '
                             f'has {len(self.route)} checkpoints.')
        path = self.route[index]['file']
        teacher = self.teachers[self.teacher_name]
        self.restore_teachers(reload=False)  # new weights come next
        load_classifier_weights(teacher, path, self.route[index]['key'])
        teacher.requires_grad_(False)
        teacher.eval()
        self.record_teacher_file(self.teacher_name, path)
        self.route_index = index
        return path


def resolve_route(route: Optional[dict]) -> List[dict]:
    """Turn ``model.route`` into ``[{'file', 'start', 'end', 'key'}, ...]``:
    the checkpoint teaching student epochs ``start <= e < end`` (``end`` None:
    until training ends) and the config key naming it in errors."""
    if route is None:
        return []
    if not isinstance(route, dict):
        raise TypeError(f'model.route must be a dict, got {route!r}')
    unknown = set(route) - {'manifest', 'checkpoints', 'schedule', 'interval'}
    if unknown:
        raise KeyError(f'model.route has unknown keys {sorted(unknown)}; '
                       'allowed: manifest, checkpoints, schedule, interval')
    sources = [
        k for k in ('manifest', 'checkpoints', 'schedule')
        if route.get(k) is not None
    ]
    if len(sources) != 1:
        raise ValueError('model.route must set exactly one of manifest, '
                         f'checkpoints, schedule; got {sources or "none"}')
    interval = route.get('interval')
    if interval is not None and (not isinstance(interval, int)
                                 or interval < 1):
        raise ValueError(f'model.route.interval must be a positive int, '
                         f'got {interval!r}')

    if 'schedule' in sources:
        if interval is not None:
            raise ValueError('model.route.interval does not apply to an '
                             'explicit model.route.schedule')
        return _from_schedule(route['schedule'])
    if 'checkpoints' in sources:
        files = list(route['checkpoints'])
        keys = [f'model.route.checkpoints[{i}]' for i in range(len(files))]
        ends = None
        interval = interval or 5
    else:
        manifest = route['manifest']
        if not osp.isfile(manifest):
            raise FileNotFoundError(
                f'Route manifest "{manifest}" (model.route.manifest) not '
                'found: the teacher config must have '
                "custom_hooks=[dict(type='TeacherRouteSaverHook', ...)] and "
                'its training must have run (the hook writes the manifest '
                'with the first route checkpoint, after `interval` epochs '
                'or at the last epoch).')
        entries = read_manifest(manifest)
        unit = 'epoch' if all('epoch' in e for e in entries) else 'iter'
        steps = [e[unit] for e in entries]
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(f'Route manifest "{manifest}": {unit}s must '
                             f'increase, got {steps}')
        if unit == 'iter' and interval is None:
            raise ValueError(
                f'Route manifest "{manifest}" counts iterations: set '
                'model.route.interval (student epochs per checkpoint).')
        folder = osp.dirname(manifest)
        files = [osp.join(folder, e['file']) for e in entries]
        keys = [
            f'model.route.manifest ({manifest}) entry {i}, {unit} '
            f'{s}' for i, s in enumerate(steps)
        ]
        ends = None if interval else steps
    if not files:
        raise ValueError(f'model.route.{sources[0]} lists no checkpoints')
    if ends is None:
        starts = [i * interval for i in range(len(files))]
        ends = [s + interval for s in starts]
    else:
        starts = [0] + ends[:-1]
    return [
        dict(file=f, start=s, end=e, key=k)
        for f, s, e, k in zip(files, starts, ends, keys)
    ]


def _from_schedule(schedule) -> List[dict]:
    entries = []
    for i, item in enumerate(schedule):
        key = f'model.route.schedule[{i}]'
        if not (isinstance(item, (list, tuple)) and len(item) == 2
                and isinstance(item[0], int)):
            raise TypeError(f'{key} must be (start_epoch, checkpoint), '
                            f'got {item!r}')
        entries.append(dict(file=item[1], start=item[0], end=None, key=key))
    starts = [e['start'] for e in entries]
    if not entries or starts[0] != 0 or any(
            b <= a for a, b in zip(starts, starts[1:])):
        raise ValueError('model.route.schedule start epochs must begin at 0 '
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
