from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from medkd.registry import HOOKS


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
    """

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
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            # the new best was not written: the previous one still stands
            if single:
                self.best_ckpt_path = previous[None]
            else:
                self.best_ckpt_path_dict = previous
            raise
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
