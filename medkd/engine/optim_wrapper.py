from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from medkd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """Mixed precision on the CPU: forward passes under bfloat16 autocast.

    mmengine's ``AmpOptimWrapper`` needs a GPU; ``tools/train.py --amp``
    chooses this wrapper when none is present. Teachers and student both run
    under the autocast context (it wraps the whole ``loss`` forward), the
    backward pass and the optimizer step stay in float32, and no loss scaling
    is needed for bfloat16.

    Args:
        dtype (str): Autocast dtype, ``'bfloat16'`` (default) or
            ``'float16'``.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield
