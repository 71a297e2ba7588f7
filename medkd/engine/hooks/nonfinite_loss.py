import math

import numpy as np
import torch

from mmengine.hooks import Hook

from medkd.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN / Inf loss term, naming it, and warn
    once when a term grows by orders of magnitude over its running median.

    Runs after each training iteration and before the checkpoint hook, so a
    diverged model is never saved: the last checkpoint on disk stays the last
    good one. :class:`~medkd.engine.MedKDRunner` registers it automatically.

    Args:
        growth_factor (float): Warn when a term exceeds this many times its
            running median. Defaults to 1000.
        window (int): Iterations in the running median. Defaults to 50.
        min_history (int): Iterations seen before warning. Defaults to 10.

    Raises:
        FloatingPointError: naming every non-finite term (the total
            ``loss`` only if no single term is), its value and the
            iteration.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, growth_factor: float = 1e3, window: int = 50,
                 min_history: int = 10):
        self.growth_factor = growth_factor
        self.window = window
        self.min_history = min_history
        self.history = {}
        self.warned = set()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        values = {
            name: float(value.detach() if torch.is_tensor(value) else value)
            for name, value in (outputs or {}).items() if 'loss' in name
        }
        broken = [n for n, v in values.items() if not math.isfinite(v)]
        # name the terms that broke; the total `loss` only when no term did
        terms = [n for n in broken if n != 'loss'] or broken
        if terms:
            described = ', '.join(f'"{n}" is {values[n]}' for n in terms)
            raise FloatingPointError(
                f'Loss term {described} at iteration '
                f'{runner.iter + 1} (epoch {runner.epoch + 1}, batch '
                f'{batch_idx}). Training stopped before saving; the last '
                f'checkpoint in {runner.work_dir} is the last good one. '
                'Lower the learning rate, enable gradient clipping '
                '(optim_wrapper.clip_grad) or check the inputs (a NaN '
                'teacher makes only its distillation term NaN).')
        for name, value in values.items():
            self._check_growth(runner, name, value)

    def _check_growth(self, runner, name: str, value: float) -> None:
        """Warn once per term when it exceeds ``growth_factor`` times the
        median of its last ``window`` values (a diverging run whose loss
        stays finite, e.g. a far too large learning rate)."""
        history = self.history.setdefault(name, [])
        if len(history) >= self.min_history and name not in self.warned:
            median = float(np.median(history))
            if median > 0 and value > self.growth_factor * median:
                self.warned.add(name)
                runner.logger.warning(
                    f'Loss term "{name}" is {value:.4g} at iteration '
                    f'{runner.iter + 1}, {value / median:.3g} times the '
                    f'median {median:.4g} of its last {len(history)} '
                    'values: training is probably diverging (learning rate '
                    'too large?).')
        history.append(value)
        del history[:-self.window]
