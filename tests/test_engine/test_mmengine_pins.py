"""The private mmengine / torch / mmpretrain behaviour medkd still relies on,
pinned: each test fails with a message naming the medkd code to revisit if an
upgrade changes it (public alternatives do not exist for these).

- ``AtomicCheckpointHook`` (medkd/engine/hooks/atomic_checkpoint.py)
  overrides ``CheckpointHook._save_checkpoint_with_step`` and
  ``_save_best_checkpoint`` and reads the state they keep
  (``keep_ckpt_ids``, ``best_ckpt_path(_dict)``, ``key_indicators``,
  ``filename_tmpl``): mmengine deletes the old checkpoint before writing the
  new one, and has no option not to.
- ``ResumableEpochBasedTrainLoop`` (medkd/engine/loops.py) re-implements
  ``EpochBasedTrainLoop.run_epoch`` on ``_epoch`` / ``_iter``.
- ``MedKDRunner.release_loader_workers`` (medkd/engine/runner.py) calls the
  multi-process loader iterator's ``_shutdown_workers`` (torch has no public
  way to stop persistent workers; left to the garbage collector each worker
  is joined with a 5 s timeout).
- ``BaseDistiller.student_cls_loss`` calls mmpretrain's
  ``ClsHead._get_loss(cls_score, data_samples)``, the head's loss on
  logits (the public ``loss`` takes backbone features).
- ``safe_checkpoint_loaders`` (medkd/utils/checkpoint.py) swaps mmengine's
  loaders through the public ``CheckpointLoader.register_scheme`` and puts
  back ``mmengine.runner.checkpoint.load_from_local`` / ``load_from_http``.
"""
import inspect

import mmengine
import mmpretrain
import torch
from mmengine.hooks import CheckpointHook
from mmengine.runner import EpochBasedTrainLoop


def test_the_versions_these_pins_were_checked_with():
    assert mmengine.__version__ == '0.10.7', (
        'mmengine changed: re-check the private APIs listed in this file '
        '(tests/test_engine/test_mmengine_pins.py) and update the pins.')
    assert mmpretrain.__version__ == '1.2.0'


def test_checkpoint_hook_internals_used_by_the_atomic_hook():
    for name, params in [
            ('_save_checkpoint_with_step', ['self', 'runner', 'step',
                                            'meta']),
            ('_save_best_checkpoint', ['self', 'runner', 'metrics'])]:
        method = getattr(CheckpointHook, name, None)
        assert method is not None, f'CheckpointHook.{name} is gone'
        assert list(inspect.signature(method).parameters) == params, name
    source = inspect.getsource(CheckpointHook)
    for attribute in ('self.keep_ckpt_ids', 'self.best_ckpt_path_dict',
                      'self.key_indicators', 'self.filename_tmpl',
                      'self.max_keep_ckpts'):
        assert attribute in source, f'CheckpointHook no longer keeps ' \
            f'{attribute} (medkd/engine/hooks/atomic_checkpoint.py)'
    # mmengine removes the oldest checkpoint *before* saving: the reason
    # for the override
    step = inspect.getsource(CheckpointHook._save_checkpoint_with_step)
    assert step.index('remove') < step.index('save_checkpoint(')


def test_epoch_loop_internals_used_by_the_resumable_loop():
    source = inspect.getsource(EpochBasedTrainLoop)
    for attribute in ('self._epoch', 'self._iter', 'def run_epoch',
                      "call_hook('before_train_epoch')",
                      "call_hook('after_train_epoch')"):
        assert attribute in source, attribute


def test_the_loader_iterator_can_stop_its_workers():
    from torch.utils.data.dataloader import _MultiProcessingDataLoaderIter
    assert callable(getattr(_MultiProcessingDataLoaderIter,
                            '_shutdown_workers', None))
    assert '_iterator' in inspect.getsource(torch.utils.data.DataLoader)


def test_the_head_loss_on_logits():
    from mmpretrain.models.heads import ClsHead, MultiLabelClsHead
    for head in (ClsHead, MultiLabelClsHead):
        params = list(inspect.signature(head._get_loss).parameters)
        assert params[:3] == ['self', 'cls_score', 'data_samples'], head


def test_the_loaders_put_back_are_mmengines_own():
    import mmengine.runner.checkpoint as checkpoint
    assert callable(checkpoint.load_from_local)
    assert callable(checkpoint.load_from_http)
