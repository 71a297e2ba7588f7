"""FitNets / attention transfer through the same feature pairs in
VanillaKD, CheckpointSequence and GatedMultiTeacher."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from medkd.models.losses import ATLoss
from medkd.registry import MODELS
from conftest import tiny_classifier


def _classifier(channels):
    cfg = tiny_classifier(3, channels)
    cfg['backbone']['out_indices'] = tuple(range(len(channels)))
    return cfg


PAIRS = [
    dict(student_stage=0, teacher_stage=0, loss=dict(type='ATLoss')),
    dict(student_stage=1, teacher_stage=2, connector=dict(
        type='ConvConnector'), loss=dict(type='FitNetsLoss',
                                         loss_weight=0.5)),
]


@pytest.mark.parametrize('method', ['VanillaKD', 'CheckpointSequence',
                                    'GatedMultiTeacher'])
def test_feature_terms_equal_an_independent_computation(method):
    torch.manual_seed(0)
    k = 2 if method == 'GatedMultiTeacher' else 1
    pairs = [dict(p, teacher='t0') for p in PAIRS]
    model = MODELS.build(
        dict(type=method, student=_classifier((4, 8)),
             teachers={f't{i}': dict(model=_classifier((6, 8, 12)))
                       for i in range(k)},
             feature_pairs=pairs, probe_shape=(3, 16, 16)))
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = model.loss(inputs, samples)
    assert {'loss_cls', 'loss_kd', 'loss_feat_0', 'loss_feat_1'} <= set(
        losses)
    s = model.student.backbone(inputs)
    with torch.no_grad():
        t = model.teachers.t0.model.backbone(inputs)
    torch.testing.assert_close(losses['loss_feat_0'], ATLoss()(s[0], t[0]))
    projected = model.connectors['1'](s[1], t[2].shape[-2:])
    torch.testing.assert_close(losses['loss_feat_1'],
                               0.5 * F.mse_loss(projected, t[2]))
    grads = torch.autograd.grad(losses['loss_feat_1'],
                                list(model.connectors.parameters()))
    assert sum(g.abs().sum() for g in grads) > 0


def test_feature_pairs_refuse_the_teacher_cache(tmp_path):
    from medkd.apis import build_runner
    from conftest import tiny_runner_cfg
    cfg = tiny_runner_cfg('configs/demo/kd_convnet_wide_convnet_cells.py',
                          tmp_path / 'w', tmp_path / 'data')
    cfg.model.feature_pairs = [dict(student_stage=2, teacher_stage=2,
                                    loss=dict(type='ATLoss'))]
    with pytest.raises(ValueError, match='feature_pairs'):
        build_runner(cfg)
