from .hooks import *  # noqa: F401,F403
from .optim_wrapper import CPUAutocastOptimWrapper
from .runner import MedKDRunner, adapt_dataloader_cfg

__all__ = ['CPUAutocastOptimWrapper', 'MedKDRunner', 'adapt_dataloader_cfg']
