"""Stop cleanly on SIGTERM / SIGINT: save where training is, then exit."""
import os
import os.path as osp
import signal
import threading
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medkd.registry import HOOKS
from .atomic_checkpoint import write_last_checkpoint


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Turn SIGTERM (what slurm and Kubernetes send before killing a job)
    and SIGINT into a checkpoint and a requeueable exit.

    On the signal, the current iteration finishes; then every rank agrees
    to stop (the flag is all-reduced each iteration, so all ranks stop
    after the same one), ``iter_<n>.pth`` is written atomically, the work
    dir's ``last_checkpoint`` names it, where training stopped is logged,
    and the process exits with ``128 + signal`` (143 for SIGTERM, 130 for
    SIGINT), which schedulers requeue on. ``--resume`` continues from that
    iteration: :class:`~medkd.engine.loops.ResumableEpochBasedTrainLoop`
    skips the batches of the epoch already trained. A second signal before
    the save falls back to the previous handler.

    :class:`~medkd.engine.MedKDRunner` registers it automatically.
    """

    priority = 'LOWEST'  # after every hook of the iteration

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.received: Optional[int] = None
        self._previous = {}

    def before_train(self, runner) -> None:
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set in the main thread
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if self.received is not None:  # a second signal: give up saving
            previous = self._previous.get(signum)
            signal.signal(signum, previous or signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.received = signum

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        received = self.received or 0
        if get_dist_info()[1] > 1:
            flag = torch.tensor([received], dtype=torch.float32)
            if torch.cuda.is_available():
                flag = flag.cuda()
            all_reduce(flag, op='max')
            received = int(flag.item())
        if not received:
            return
        filename = f'iter_{runner.iter + 1}.pth'
        runner.save_checkpoint(runner.work_dir, filename, by_epoch=False)
        path = osp.join(runner.work_dir, filename)
        if is_main_process():
            write_last_checkpoint(runner.work_dir, path)
        code = 128 + received
        MMLogger.get_current_instance().warning(
            f'{signal.Signals(received).name}: stopped after iteration '
            f'{runner.iter + 1} (epoch {runner.epoch + 1}, batch '
            f'{batch_idx + 1} of {len(runner.train_dataloader)}); saved '
            f'{path}. Exit code {code}; rerun with --resume to continue '
            'from this iteration.')
        self.restore_signal_handlers()
        raise SystemExit(code)

    def after_train(self, runner) -> None:
        self.restore_signal_handlers()

    def restore_signal_handlers(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}
