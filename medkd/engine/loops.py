"""An epoch-based training loop that resumes inside an epoch."""
from mmengine.runner import EpochBasedTrainLoop

from medkd.registry import LOOPS


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` that continues a resumed epoch
    where it stopped.

    mmengine resumes a checkpoint saved in the middle of an epoch (by
    :class:`~medkd.engine.hooks.PreemptionHook`) from the start of that
    epoch, so the samples already trained on are trained on twice. Here the
    resumed epoch skips the batches it had done: the sampler draws the same
    order (``DefaultSampler`` shuffles with ``seed + epoch``, each rank its
    own shard) and the skipped batches are read but not trained on, so a
    killed and resumed run sees exactly the samples of an uninterrupted one.
    ``MedKDRunner`` uses it for every epoch-based ``train_cfg`` without a
    loop ``type``; same arguments as ``EpochBasedTrainLoop``.
    """

    def run_epoch(self) -> None:
        done = self._iter - self._epoch * len(self.dataloader)
        if done <= 0:
            return super().run_epoch()
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(self.dataloader):
            if idx >= done:  # the first `done` trained before the stop
                self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
