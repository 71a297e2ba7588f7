"""Save a teacher's training route for :class:`CheckpointSequence`."""
import os
import os.path as osp
from typing import List, Optional

import torch
from mmengine.dist import is_main_process, master_only
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medkd.models.teachers import MANIFEST, read_manifest, write_manifest
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model
from medkd.utils.fileio import atomic_write


@HOOKS.register_module()
class TeacherRouteSaverHook(Hook):
    """Save the teacher's weights every ``interval`` epochs (or iterations)
    as its *route* for :class:`~medkd.models.CheckpointSequence`.

    Independent of :class:`mmengine.hooks.CheckpointHook` (no best / last /
    ``max_keep_ckpts`` logic): every route checkpoint is kept. Each file holds
    only ``{'state_dict': plain tensors, 'meta': {'epoch': e, 'iter': i}}``,
    loadable with ``torch.load(weights_only=True)``. ``manifest.json`` in the
    same folder lists them in order as ``[{"epoch": 5, "file":
    "route_epoch_5.pth"}, ...]`` (``"iter"`` with ``by_epoch=False``; file
    names relative to the folder). Files and manifest are written atomically
    (temporary file in the folder, then ``os.replace``).

    On resume the manifest's entries up to the resumed epoch are kept; a new
    run in the same folder drops entries later than its start (they would
    belong to another run) and overwrites them as it reaches them.

    Args:
        interval (int): Save every ``interval`` epochs (iterations with
            ``by_epoch=False``). Defaults to 5.
        by_epoch (bool): Count epochs (True) or iterations. Defaults to True.
        out_dir (str, optional): Folder of the route. Defaults to
            ``{work_dir}/route``; a relative path is taken relative to
            ``work_dir``.
        save_last (bool): Also save the final epoch (iteration) when it is
            not a multiple of ``interval``, so the route always ends at the
            trained teacher (and a run shorter than ``interval`` still has
            a route). Defaults to True.
    """

    priority = 'LOW'  # after the model was updated by this epoch / iter

    def __init__(self,
                 interval: int = 5,
                 by_epoch: bool = True,
                 out_dir: Optional[str] = None,
                 save_last: bool = True):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'TeacherRouteSaverHook.interval must be a positive int, '
                f'got {interval!r}')
        self.interval = interval
        self.by_epoch = by_epoch
        self.out_dir = out_dir
        self.save_last = save_last
        self.route_dir: Optional[str] = None
        self.unit = 'epoch' if by_epoch else 'iter'
        self.entries: List[dict] = []

    @property
    def manifest_path(self) -> str:
        return osp.join(self.route_dir, MANIFEST)

    def before_train(self, runner) -> None:
        self.route_dir = osp.join(runner.work_dir, self.out_dir or 'route')
        start = runner.epoch if self.by_epoch else runner.iter
        self.entries = []
        if osp.isfile(self.manifest_path):
            previous = read_manifest(self.manifest_path)
            self.entries = [
                e for e in previous if e.get(self.unit, float('inf')) <= start
            ]
            if len(self.entries) < len(previous):
                MMLogger.get_current_instance().warning(
                    f'Route manifest {self.manifest_path}: dropped '
                    f'{len(previous) - len(self.entries)} entries after '
                    f'{self.unit} {start} (training starts there).')
        if is_main_process():
            os.makedirs(self.route_dir, exist_ok=True)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and (self.every_n_epochs(runner, self.interval) or
                              (self.save_last
                               and self.is_last_train_epoch(runner))):
            self._save(runner, runner.epoch + 1)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self.by_epoch and (
                self.every_n_train_iters(runner, self.interval) or
            (self.save_last and self.is_last_train_iter(runner))):
            self._save(runner, runner.iter + 1)

    @master_only
    def _save(self, runner, step: int) -> None:
        model = unwrap_model(runner.model)
        state = {
            k: v.detach().cpu().clone()
            for k, v in model.state_dict().items()
        }
        if self.by_epoch:  # the loop counted this epoch's iterations already
            meta = dict(epoch=runner.epoch + 1, iter=runner.iter)
        else:
            meta = dict(epoch=runner.epoch, iter=runner.iter + 1)
        filename = f'route_{self.unit}_{step}.pth'
        atomic_write(
            osp.join(self.route_dir, filename),
            lambda f: torch.save(dict(state_dict=state, meta=meta), f))
        self.entries = [e for e in self.entries if e.get(self.unit) != step]
        self.entries.append({self.unit: step, 'file': filename})
        self.entries.sort(key=lambda e: e[self.unit])
        write_manifest(self.manifest_path, self.entries)
        MMLogger.get_current_instance().info(
            f'Route checkpoint {len(self.entries)} saved: {filename} '
            f'({self.unit} {step}) -> {self.manifest_path}')
