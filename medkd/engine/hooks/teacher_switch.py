"""Move a :class:`CheckpointSequence` teacher along its route."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


@HOOKS.register_module()
class TeacherSwitchHook(Hook):
    """Load the route checkpoint scheduled for each student epoch into the
    single teacher of a :class:`~medkd.models.CheckpointSequence`.

    At ``before_train_epoch`` the index is recomputed from ``runner.epoch``
    (0-based) with the distiller's route, so a resumed run picks the right
    checkpoint; a file is read only when the index changes (and once at the
    start of every run). The teacher stays frozen and in eval mode, and the
    optimizer and LR schedule are not touched. Each switch is logged (info)
    and the active index is a scalar ``train/route_index`` in the message hub
    (logged as ``route_index``). Past the route's last stretch the last
    checkpoint stays, with one warning. Checkpoints store the active index as
    ``meta['route_index']`` (a plain int); loading one checks it against the
    configured route.

    :class:`~medkd.engine.MedKDRunner` always registers it (a derived
    config that replaces ``custom_hooks`` cannot lose it); it does nothing
    for a model without a route. The route itself is ``model.route``.
    """

    priority = 'ABOVE_NORMAL'  # before anything that runs the teacher

    def __init__(self):
        self.active: Optional[int] = None
        self.warned_exhausted = False

    def before_train(self, runner) -> None:
        model = self._distiller(runner)
        self.active = None
        if model is None:
            return
        if not model.route:
            MMLogger.get_current_instance().warning(
                'TeacherSwitchHook: model.route is None, the teacher keeps '
                'its initial weights.')

    def before_train_epoch(self, runner) -> None:
        model = self._distiller(runner)
        if model is None or not model.route:
            return
        epoch = runner.epoch
        index = model.route_index_at(epoch)
        logger = MMLogger.get_current_instance()
        if model.route_exhausted(epoch) and not self.warned_exhausted:
            self.warned_exhausted = True
            logger.warning(
                f'Student epoch {epoch + 1} is past the teacher route '
                f'({len(model.route)} checkpoints, last stretch ends at '
                f'epoch {model.route[-1]["end"]}): the last checkpoint '
                f'{model.route[-1]["file"]} stays the teacher.')
        if index != self.active:
            path = model.load_route_checkpoint(index)
            self.active = index
            logger.info(f'Teacher route: epoch {epoch + 1} distils from '
                        f'checkpoint {index + 1}/{len(model.route)} '
                        f'(route_index={index}): {path}')
        runner.message_hub.update_scalar('train/route_index', index)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.active is not None:
            checkpoint.setdefault('meta', {})['route_index'] = int(self.active)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        saved = meta.get('route_index')
        model = self._distiller(runner)
        if saved is None or model is None or not model.route or \
                not meta.get('epoch'):
            return
        expected = model.route_index_at(meta['epoch'] - 1)
        if saved != expected:
            MMLogger.get_current_instance().warning(
                f'The checkpoint was saved with route_index={saved} but the '
                f'configured route gives {expected} for its last epoch '
                f'({meta["epoch"]}): model.route changed; following the '
                'configured route.')

    @staticmethod
    def _distiller(runner):
        """The model if it has a teacher route (a CheckpointSequence),
        else None."""
        model = unwrap_model(runner.model)
        return model if hasattr(model, 'load_route_checkpoint') else None
