"""StopDistillHook: from stop_epoch on, CE only and no teacher forward."""
import pytest
import torch
from mmengine.hooks import Hook
from mmpretrain.structures import DataSample

from medkd.apis import build_runner
from medkd.engine.hooks import StopDistillHook
from medkd.registry import MODELS
from conftest import tiny_classifier, tiny_runner_cfg

KD = 'configs/demo/kd_convnet_wide_convnet_cells.py'


def test_distillation_stops_at_the_epoch_and_teachers_do_not_run(tmp_path):
    cfg = tiny_runner_cfg(KD, tmp_path / 'w', tmp_path / 'data', epochs=3)
    cfg.model.teachers.convnet_wide.ckpt = None
    cfg.pop('teacher_cache', None)  # live teachers, to count their calls
    cfg.custom_hooks = [dict(type='StopDistillHook', stop_epoch=2)]
    runner = build_runner(cfg)
    calls, terms = [], {}
    runner.model.teachers.convnet_wide.register_forward_hook(
        lambda *args: calls.append(runner.epoch))

    class Record(Hook):

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            terms.setdefault(runner.epoch, set()).update(outputs)

    runner.register_hook(Record())
    runner.train()
    assert calls and set(calls) == {0, 1}  # no teacher forward in epoch 2
    assert {'loss_cls', 'loss_kd'} <= terms[0] and 'loss_kd' in terms[1]
    assert 'loss_kd' not in terms[2] and 'loss_cls' in terms[2]
    assert runner.model.distillation_enabled  # restored after training


def test_classification_loss_is_the_unweighted_head_loss():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='VanillaKD', student=tiny_classifier(),
             teachers=dict(t=dict(model=tiny_classifier())),
             cls_weight=0.3, kd_weight=0.7))
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    model.distillation_enabled = False
    losses = model(inputs, samples, mode='loss')
    logits = model.student(inputs, mode='tensor')
    assert set(losses) == {'loss_cls'}
    torch.testing.assert_close(
        losses['loss_cls'],
        torch.nn.functional.cross_entropy(logits, torch.arange(4) % 3))


def test_hook_needs_a_distiller_and_a_valid_epoch(tmp_path):
    with pytest.raises(ValueError, match='stop_epoch'):
        StopDistillHook(stop_epoch=-1)
    cfg = tiny_runner_cfg('configs/demo/convnet_student_cells.py',
                          tmp_path / 's', tmp_path / 'data')
    cfg.custom_hooks = [dict(type='StopDistillHook', stop_epoch=1)]
    with pytest.raises(TypeError, match='needs a distiller'):
        build_runner(cfg).train()
