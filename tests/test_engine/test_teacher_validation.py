"""Teachers' validation metrics are reported once, under teacher/<name>/."""
import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score

from medkd.apis import build_runner
from conftest import tiny_runner_cfg

KD = 'configs/demo/kd_convnet_wide_convnet_cells.py'


def test_teacher_metrics_are_logged_once_and_correct(tmp_path):
    cfg = tiny_runner_cfg(KD, tmp_path / 'w', tmp_path / 'data', epochs=2)
    cfg.model.teachers.convnet_wide.ckpt = None
    cfg.pop('teacher_cache', None)
    runner = build_runner(cfg)
    teacher = runner.model.teachers.convnet_wide.model
    in_val = []
    teacher.register_forward_hook(
        lambda *args: in_val.append(not runner.model.training))
    runner.train()
    hub = runner.message_hub
    accuracy = hub.get_scalar('val/teacher/convnet_wide/accuracy')
    assert len(accuracy.data[0]) == 1  # evaluated after the first val only
    # independent: the teacher on the val images, arg-max against labels
    preds, labels = [], []
    with torch.no_grad():
        for batch in runner.val_dataloader:
            data = runner.model.data_preprocessor(batch, False)
            preds += teacher(data['inputs'], mode='tensor').argmax(1).tolist()
            labels += [int(s.gt_label) for s in data['data_samples']]
    assert accuracy.current() == pytest.approx(
        accuracy_score(labels, preds) * 100)
    # one validation pass of the teacher in total (16 val images, batch 8)
    assert sum(in_val) == 2 + 2  # the hook's pass + the check above
    assert np.isfinite(hub.get_scalar('val/teacher/convnet_wide/auc')
                       .current())
