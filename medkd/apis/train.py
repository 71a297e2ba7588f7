"""Config handling shared by ``tools/train.py``, ``tools/test.py`` and the
demo / chain tools."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from medkd.registry import RUNNERS


def set_work_dir(cfg: Config, config_path: str,
                 work_dir: Optional[str] = None) -> Config:
    """CLI ``--work-dir`` > ``work_dir`` in the file > work_dirs/<name>."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg


def enable_amp(cfg: Config) -> Config:
    """Mixed precision: fp16 ``AmpOptimWrapper`` on CUDA, bf16 autocast on
    the CPU (mmengine's AMP wrapper requires a GPU)."""
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        print_log(
            '--amp without CUDA: using bfloat16 autocast on the CPU '
            '(CPUAutocastOptimWrapper) instead of fp16 AmpOptimWrapper.',
            logger='current')
        cfg.optim_wrapper.type = 'CPUAutocastOptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
    return cfg


def add_launcher_arguments(parser, help: str = 'job launcher') -> None:
    """``--launcher`` and torchrun's ``--local-rank`` on a tool's parser;
    call :func:`parse_launcher_args` instead of ``parser.parse_args``."""
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help=help)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launcher_args(parser):
    """``parser.parse_args()``, with ``LOCAL_RANK`` set from
    ``--local-rank`` when the launcher did not set it."""
    import os
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def importable_cwd() -> None:
    """Put the current directory first on ``sys.path``, as ``python -m``
    would, so that a config's ``custom_imports`` finds the user's own
    package when a tool is run as ``python /path/to/medkd/tools/x.py``
    (Python puts the tool's folder there instead)."""
    import os
    import sys
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type`` (medkd's by default)."""
    import medkd.engine  # noqa: F401  (registers MedKDRunner and hooks)
    from medkd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg.setdefault('runner_type', 'MedKDRunner')
    return RUNNERS.build(cfg)


def close_distributed() -> None:
    """Destroy the process group of a finished distributed run.

    A gloo group left to the interpreter's exit can abort a rank in C++
    teardown ("terminate called without an active exception").
    """
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
