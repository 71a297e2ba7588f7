"""Turn distillation off for the last epochs of training."""
from mmengine.hooks import Hook

from medkd.models.distillers import is_distiller
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


@HOOKS.register_module()
class StopDistillHook(Hook):
    """From epoch ``stop_epoch`` (0-based) on, train the student with its
    own classification loss only: no distillation term, and the teachers
    are not run.

    Some works finish distillation with a few epochs of plain fine-tuning
    on the labels. The switch is recomputed from ``runner.epoch`` before
    every epoch, so a resumed run is in the right phase. While it is on,
    the distiller's ``loss`` returns only ``loss_cls`` (the student head's
    loss, unweighted; see
    :meth:`~medkd.models.distillers.BaseDistiller.classification_loss`).

    Use with ``custom_hooks = [dict(type='StopDistillHook', stop_epoch=40)]``.

    Args:
        stop_epoch (int): The first epoch (0-based) without distillation.
    """

    priority = 'ABOVE_NORMAL'  # before the teacher route switch and cache

    def __init__(self, stop_epoch: int):
        if not isinstance(stop_epoch, int) or stop_epoch < 0:
            raise ValueError('StopDistillHook: `stop_epoch` must be an int '
                             f'>= 0, got {stop_epoch!r}.')
        self.stop_epoch = stop_epoch

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        if not is_distiller(model):
            raise TypeError(
                'StopDistillHook needs a distiller model, got '
                f'{type(model).__name__}; remove the hook for a plain '
                'classifier.')

    def before_train_epoch(self, runner) -> None:
        model = unwrap_model(runner.model)
        enabled = runner.epoch < self.stop_epoch
        if model.distillation_enabled and not enabled:
            runner.logger.info(
                f'StopDistillHook: distillation off from epoch '
                f'{runner.epoch + 1} on (classification loss only).')
        model.distillation_enabled = enabled

    def after_train(self, runner) -> None:
        unwrap_model(runner.model).distillation_enabled = True
