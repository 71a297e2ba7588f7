from .seeds import (mean_std_cell, metric_cell, run_seed, seed_work_dir,
                    summarise)
from .stages import (final_checkpoint, latest_checkpoint, load_chain,
                     run_chain)
from .train import build_runner, close_distributed, enable_amp, set_work_dir

__all__ = [
    'build_runner', 'close_distributed', 'enable_amp', 'set_work_dir',
    'final_checkpoint', 'latest_checkpoint', 'load_chain', 'run_chain',
    'mean_std_cell', 'metric_cell', 'run_seed', 'seed_work_dir', 'summarise'
]
