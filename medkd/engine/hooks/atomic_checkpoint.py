import os.path as osp
from collections import deque
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from medkd.registry import HOOKS
from medkd.utils.fileio import atomic_write


def write_last_checkpoint(work_dir: str, path: str) -> None:
    """Point ``work_dir/last_checkpoint`` at ``path`` atomically (a kill
    while writing leaves the previous pointer, never an empty one)."""
    text = path.encode()
    atomic_write(osp.join(work_dir, 'last_checkpoint'),
                 lambda f: f.write(text))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that deletes old checkpoints only after
    the new one is complete.

    mmengine removes the oldest checkpoint (``max_keep_ckpts``) *before*
    writing the new one, so a job killed while saving can be left with no
    usable regular checkpoint. Here the new file is written first (atomically,
    by :meth:`medkd.engine.MedKDRunner.save_checkpoint`), ``last_checkpoint``
    is updated, and only then the oldest one is removed. Same arguments as
    :class:`mmengine.hooks.CheckpointHook`; ``MedKDRunner`` uses it in place
    of ``CheckpointHook``.

    The same holds for the best checkpoint (``save_best``): mmengine deletes
    the previous ``best_*.pth`` before writing the new one, so a kill in
    between left no best checkpoint at all; here the new one is written
    first and the previous one deleted after.

    A best checkpoint belongs to a training run: an evaluation outside
    training (``runner.val()`` / ``runner.test()`` of a loaded checkpoint,
    ``tools/test.py``, the demo's final evaluation) writes none. (mmengine's
    hook would fail there: its file backend is set in ``before_train``.)

    Epoch-based training can also save every ``iter_interval`` iterations
    (``iter_<n>.pth``), which bounds what a SIGKILL loses to that many
    iterations; ``--resume`` continues inside the epoch
    (:class:`~medkd.engine.loops.ResumableEpochBasedTrainLoop`). Those
    checkpoints are kept apart from the epoch ones: the newest
    ``max_keep_iter_ckpts`` stay, whatever ``max_keep_ckpts`` says.

    Args:
        iter_interval (int, optional): Also save every this many
            iterations of epoch-based training. Defaults to None (epoch
            checkpoints only).
        max_keep_iter_ckpts (int): How many iteration checkpoints to keep;
            -1 keeps all. Defaults to 1.
        **kwargs: The arguments of :class:`mmengine.hooks.CheckpointHook`.
    """

    def __init__(self,
                 *args,
                 iter_interval: Optional[int] = None,
                 max_keep_iter_ckpts: int = 1,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if iter_interval is not None:
            if isinstance(iter_interval, bool) or not isinstance(
                    iter_interval, int) or iter_interval < 1:
                raise ValueError(
                    '`default_hooks.checkpoint.iter_interval` must be a '
                    f'positive int (save every N iterations), got '
                    f'{iter_interval!r}.')
            if not self.by_epoch:
                raise ValueError(
                    '`default_hooks.checkpoint.iter_interval` is for '
                    'epoch-based checkpoints (by_epoch=True); with '
                    f'by_epoch=False `interval` ({self.interval}) already '
                    'counts iterations.')
        if isinstance(max_keep_iter_ckpts, bool) or not isinstance(
                max_keep_iter_ckpts, int) or max_keep_iter_ckpts == 0 or \
                max_keep_iter_ckpts < -1:
            raise ValueError(
                '`default_hooks.checkpoint.max_keep_iter_ckpts` must be -1 '
                f'(keep all) or a positive int, got {max_keep_iter_ckpts!r}.')
        self.iter_interval = iter_interval
        self.max_keep_iter_ckpts = max_keep_iter_ckpts
        self.keep_iter_ckpt_ids: deque = deque()
        self.training = False
        # while a best checkpoint is written (read by CalibrationHook)
        self.saving_best = False

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self.training = True
        if not self.iter_interval:
            return
        # a resumed run keeps deleting the iteration checkpoints it inherited
        kept = list(runner.message_hub.get_info('keep_iter_ckpt_ids', []))
        self.keep_iter_ckpt_ids = deque(kept)

    def after_train(self, runner) -> None:
        super().after_train(runner)
        self.training = False

    def after_val_epoch(self, runner, metrics) -> None:
        if self.training:
            super().after_val_epoch(runner, metrics)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if self.iter_interval and self.by_epoch and \
                (runner.iter + 1) % self.iter_interval == 0:
            self._save_iter_checkpoint(runner)

    def _save_iter_checkpoint(self, runner) -> None:
        step = runner.iter + 1
        oldest = []
        if self.max_keep_iter_ckpts > 0:
            # recorded before saving, like the epoch list (see below)
            self.keep_iter_ckpt_ids.append(step)
            while len(self.keep_iter_ckpt_ids) > self.max_keep_iter_ckpts:
                oldest.append(self.keep_iter_ckpt_ids.popleft())
            runner.message_hub.update_info('keep_iter_ckpt_ids',
                                           list(self.keep_iter_ckpt_ids))
        filename = f'iter_{step}.pth'
        runner.logger.info(f'Saving checkpoint at {step} iterations '
                           f'(every {self.iter_interval})')
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=dict(epoch=runner.epoch, iter=step),
            by_epoch=False,
            backend_args=self.backend_args,
            **self.args)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        if not is_main_process():
            return
        write_last_checkpoint(runner.work_dir, self.last_ckpt)
        for old in oldest:
            path = self.file_backend.join_path(self.out_dir,
                                               f'iter_{old}.pth')
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self.save_best:
            return super()._save_best_checkpoint(runner, metrics)
        single = len(self.key_indicators) == 1
        previous = ({None: self.best_ckpt_path}
                    if single else dict(self.best_ckpt_path_dict))
        # the parent deletes the file a best path names before saving: give
        # it none, and delete the old file once the new one exists
        if single:
            self.best_ckpt_path = None
        else:
            self.best_ckpt_path_dict = {k: None for k in previous}
        self.saving_best = True
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            # the new best was not written: the previous one still stands
            if single:
                self.best_ckpt_path = previous[None]
            else:
                self.best_ckpt_path_dict = previous
            raise
        finally:
            self.saving_best = False
        current = ({None: self.best_ckpt_path}
                   if single else self.best_ckpt_path_dict)
        for key, old in previous.items():
            new = current.get(key)
            if new is None:  # not improved: keep the previous best
                current[key] = old
            elif old and old != new and is_main_process() and \
                    self.file_backend.isfile(old):
                self.file_backend.remove(old)
                runner.logger.info(
                    f'The previous best checkpoint {old} is removed')
        if single:
            self.best_ckpt_path = current[None]

    def _save_checkpoint_with_step(self, runner, step, meta):
        keep = self.max_keep_ckpts
        oldest = None
        if keep > 0 and not (self.keep_ckpt_ids
                             and self.keep_ckpt_ids[-1] == step):
            # Record the new checkpoint in the retention list *before* it is
            # written, so the checkpoint's message hub holds the list that
            # includes it (a resume from it then deletes the right files).
            if len(self.keep_ckpt_ids) == keep:
                oldest = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        self.max_keep_ckpts = -1  # the parent must not delete before saving
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if oldest is not None and is_main_process():
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(oldest))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
