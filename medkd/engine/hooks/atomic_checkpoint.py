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
    """

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
