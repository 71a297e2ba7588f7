import math

import torch

from mmengine.hooks import Hook

from medkd.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN / Inf loss term, naming it.

    Runs after each training iteration and before the checkpoint hook, so a
    diverged model is never saved: the last checkpoint on disk stays the last
    good one. :class:`~medkd.engine.MedKDRunner` registers it automatically.

    Raises:
        FloatingPointError: with the loss term, its value and the iteration.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        for name, value in (outputs or {}).items():
            value = float(value.detach() if torch.is_tensor(value) else value)
            if 'loss' in name and not math.isfinite(value):
                raise FloatingPointError(
                    f'Loss term "{name}" is {value} at iteration '
                    f'{runner.iter + 1} (epoch {runner.epoch + 1}, batch '
                    f'{batch_idx}). Training stopped before saving; the last '
                    f'checkpoint in {runner.work_dir} is the last good one. '
                    'Lower the learning rate, enable gradient clipping '
                    '(optim_wrapper.clip_grad) or check the inputs.')
