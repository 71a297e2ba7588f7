from .hooks import *  # noqa: F401,F403
from .log_processor import MedKDLogProcessor
from .loops import ResumableEpochBasedTrainLoop
from .optim_wrapper import CPUAutocastOptimWrapper
from .runner import MedKDRunner, adapt_dataloader_cfg

__all__ = [
    'CPUAutocastOptimWrapper', 'MedKDLogProcessor', 'MedKDRunner',
    'ResumableEpochBasedTrainLoop', 'adapt_dataloader_cfg'
]
