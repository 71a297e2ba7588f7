"""Move route teachers along their routes."""
from typing import Dict

from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medkd.models.distillers import is_distiller
from medkd.models.teachers import RouteTeacher
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


@HOOKS.register_module()
class TeacherSwitchHook(Hook):
    """Load the route checkpoint scheduled for each student epoch into every
    :class:`~medkd.models.teachers.RouteTeacher` of the model (the teacher
    of a :class:`~medkd.models.CheckpointSequence`, or any teacher entry of
    ``type='RouteTeacher'``).

    At ``before_train_epoch`` the index is recomputed from ``runner.epoch``
    (0-based) with the teacher's route, so a resumed run picks the right
    checkpoint; a file is read only when the index changes (and once at the
    start of every run). The teacher stays frozen and in eval mode, and the
    optimizer and LR schedule are not touched. Each switch is logged (info)
    and the active index is a scalar ``train/route_index`` in the message
    hub (``train/route_index/<name>`` with several route teachers). Past the
    route's last stretch the last checkpoint stays, with one warning.
    Checkpoints store the active indices as ``meta['route_index']``
    (``{teacher name: int}``); loading one checks them against the
    configured route.

    :class:`~medkd.engine.MedKDRunner` always registers it (a derived
    config that replaces ``custom_hooks`` cannot lose it); it does nothing
    for a model without route teachers.
    """

    priority = 'ABOVE_NORMAL'  # before anything that runs the teacher

    def __init__(self):
        #: {teacher name: the route index loaded in this run}
        self.active: Dict[str, int] = {}
        self.warned_exhausted = set()

    def before_train(self, runner) -> None:
        self.active = {}

    def before_train_epoch(self, runner) -> None:
        teachers = route_teachers(runner.model)
        epoch = runner.epoch
        logger = MMLogger.get_current_instance()
        for name, teacher in teachers.items():
            index = teacher.index_at(epoch)
            if teacher.exhausted(epoch) and name not in \
                    self.warned_exhausted:
                self.warned_exhausted.add(name)
                logger.warning(
                    f'Student epoch {epoch + 1} is past the route of teacher '
                    f'{name} ({len(teacher.route)} checkpoints, last stretch '
                    f'ends at epoch {teacher.route[-1]["end"]}): the last '
                    f'checkpoint {teacher.route[-1]["file"]} stays the '
                    'teacher.')
            if self.active.get(name) != index:
                path = teacher.switch(index)
                self.active[name] = index
                logger.info(f'Teacher route: epoch {epoch + 1} distils from '
                            f'checkpoint {index + 1}/{len(teacher.route)} of '
                            f'{name} (route_index={index}): {path}')
            scalar = ('train/route_index' if len(teachers) == 1 else
                      f'train/route_index/{name}')
            runner.message_hub.update_scalar(scalar, index)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.active:
            checkpoint.setdefault('meta', {})['route_index'] = {
                name: int(index) for name, index in self.active.items()
            }

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        saved = meta.get('route_index')
        teachers = route_teachers(runner.model)
        if saved is None or not teachers or not meta.get('epoch'):
            return
        if not isinstance(saved, dict):  # medkd before route teachers
            saved = {next(iter(teachers)): saved}
        for name, index in saved.items():
            if name not in teachers:
                continue
            expected = teachers[name].index_at(meta['epoch'] - 1)
            if index != expected:
                MMLogger.get_current_instance().warning(
                    f'The checkpoint was saved with route_index={index} of '
                    f'teacher {name}, but the configured route gives '
                    f'{expected} for its last epoch ({meta["epoch"]}): the '
                    'route changed; following the configured route.')


def route_teachers(model) -> Dict[str, RouteTeacher]:
    """``{name: teacher}`` of the route teachers of a (wrapped) model."""
    model = unwrap_model(model)
    if not is_distiller(model):
        return {}
    return {name: teacher for name, teacher in model.teachers.items()
            if isinstance(teacher, RouteTeacher)}
