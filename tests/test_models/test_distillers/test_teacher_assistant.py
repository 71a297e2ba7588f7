import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier

L = 5  # labels


def _classifier(channels, multi_label=True, out_indices=None, classes=L):
    cfg = tiny_classifier(classes, channels, multi_label=multi_label)
    cfg['backbone']['out_indices'] = out_indices or tuple(
        range(len(channels)))
    return cfg


def _samples(n=4, multi_label=True, masks=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, 16, 16, generator=g)
    samples = []
    for i in range(n):
        if multi_label:
            sample = DataSample().set_gt_label([j for j in range(L)
                                                if (i + j) % 3 == 0])
            if masks:
                mask = torch.ones(L)
                mask[i % L] = 0
                sample.set_field(mask, 'gt_label_mask')
        else:
            sample = DataSample().set_gt_label(i % 3)
        samples.append(sample)
    return inputs, samples


def _ta(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        type='TeacherAssistant',
        student=_classifier((4, 8)),
        teachers=dict(
            a=dict(model=_classifier((6, 12))),
            b=dict(model=_classifier((4, 6, 10)))),
        kd_loss=dict(type='SoftBCELoss', temperature=3.0),
        feature_pairs=[
            dict(student_stage=0, teacher_stage=0, teacher='a',
                 loss=dict(type='FeatureKLLoss', loss_weight=0.5),
                 connector=dict(type='ConvConnector')),
            dict(student_stage=1, teacher_stage=1, teacher='b',
                 loss=dict(type='WassersteinFeatureLoss'),
                 connector=dict(type='ConvConnector')),
        ],
        probe_shape=(3, 16, 16))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _np_bce(z, y):
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, np.float64)))


def test_loss_equals_independent_computation_with_masks():
    model = _ta()
    model.train()
    inputs, samples = _samples()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_cls', 'loss_kd', 'loss_feat_0',
                           'loss_feat_1'}

    with torch.no_grad():
        z_s = model.student(inputs, mode='tensor').numpy()
        z_t = np.mean([model.teachers[k].model(inputs, mode='tensor').numpy()
                       for k in ('a', 'b')], axis=0)
        f_s = model.student.backbone(inputs)
        f_a = model.teachers.a.model.backbone(inputs)
        f_b = model.teachers.b.model.backbone(inputs)
    y = np.zeros((4, L))
    for i, s in enumerate(samples):
        y[i, s.gt_label.numpy()] = 1
    m = np.stack([s.gt_label_mask.numpy() for s in samples])
    T = 3.0
    hard = (_np_bce(z_s, y) * m).sum(1).mean()
    p_t = _sigmoid(z_t / T)
    soft = (_np_bce(z_s / T, p_t) * m).sum(1).mean()
    np.testing.assert_allclose(losses['loss_cls'].item(), hard, rtol=1e-5)
    np.testing.assert_allclose(losses['loss_kd'].item(), soft, rtol=1e-5)

    # Pair 0: connector(student block 0) vs teacher a block 0, spatial KL.
    c0 = model.connectors['0']
    with torch.no_grad():
        g0 = F.conv2d(f_s[0], c0.conv.weight, c0.conv.bias).numpy()
    assert g0.shape == f_a[0].shape  # same spatial size: no resize
    flat_s = g0.reshape(4, 6, -1)
    flat_t = f_a[0].numpy().reshape(4, 6, -1)
    p_s = np.exp(flat_s) / np.exp(flat_s).sum(2, keepdims=True)
    p_a = np.exp(flat_t) / np.exp(flat_t).sum(2, keepdims=True)
    kl = 0.5 * (p_a * np.log(p_a / p_s)).sum(2).mean()
    np.testing.assert_allclose(losses['loss_feat_0'].item(), kl, rtol=1e-4)

    # Pair 1: connector(student last block, 4x4) resized to teacher b block
    # 1 (4x4 too: 16 px / 2 / 2), W1 of min-max normalised values.
    c1 = model.connectors['1']
    assert (c1.in_channels, c1.out_channels) == (8, 6)
    with torch.no_grad():
        g1 = F.interpolate(F.conv2d(f_s[1], c1.conv.weight, c1.conv.bias),
                           size=f_b[1].shape[-2:], mode='bilinear',
                           align_corners=False).numpy()

    def norm(v):
        v = v.reshape(4, 6, -1)
        lo, hi = v.min(2, keepdims=True), v.max(2, keepdims=True)
        return np.sort((v - lo) / (hi - lo + 1e-6), axis=2)

    w1 = np.abs(norm(g1) - norm(f_b[1].numpy())).mean()
    np.testing.assert_allclose(losses['loss_feat_1'].item(), w1, rtol=1e-4)


def test_masked_bce_with_ones_equals_the_head_loss():
    model = _ta(feature_pairs=[])
    inputs, samples = _samples(masks=False)
    with torch.no_grad():
        logits = model.student(inputs, mode='tensor')
    head = model.student_cls_loss(logits, samples)
    losses = model.loss(inputs, samples)
    torch.testing.assert_close(losses['loss_cls'], head)
    for s in samples:
        s.set_field(torch.ones(L), 'gt_label_mask')
    torch.testing.assert_close(model.loss(inputs, samples)['loss_cls'], head)


def test_single_label_uses_ce_and_t2_kl():
    model = MODELS.build(
        dict(type='TeacherAssistant',
             student=_classifier((4, 8), multi_label=False, classes=3),
             teachers=dict(t=dict(model=_classifier(
                 (6, 12), multi_label=False, classes=3))),
             kd_loss=dict(type='KDLoss', temperature=4.0), kd_weight=0.5))
    inputs, samples = _samples(multi_label=False)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_cls', 'loss_kd'}
    with torch.no_grad():
        z_s = model.student(inputs, mode='tensor')
        z_t = model.teachers.t.model(inputs, mode='tensor')
    y = torch.tensor([s.gt_label.item() for s in samples])
    torch.testing.assert_close(losses['loss_cls'], F.cross_entropy(z_s, y))
    p_t = F.softmax(z_t / 4, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(z_s / 4, 1))).sum(1).mean()
    torch.testing.assert_close(losses['loss_kd'], 0.5 * 16 * kl)


def test_student_backbone_runs_once_and_train_step_updates_lower_model():
    model = _ta()
    model.train()
    calls = []
    model.student.backbone.register_forward_hook(
        lambda *args: calls.append(1))
    teachers_before = copy.deepcopy(model.teachers.state_dict())
    connectors_before = copy.deepcopy(model.connectors.state_dict())
    inputs, samples = _samples()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    log_vars = model.train_step(
        dict(inputs=inputs * 50 + 127, data_samples=samples), optim)
    assert len(calls) == 1
    assert {'loss_cls', 'loss_kd', 'loss_feat_0', 'loss_feat_1'} <= set(
        log_vars)
    for key, value in model.teachers.state_dict().items():
        assert torch.equal(value, teachers_before[key]), key
    for k in ('0', '1'):  # (both losses are blind to a per-channel bias)
        key = f'{k}.conv.weight'
        assert not torch.equal(model.connectors.state_dict()[key],
                               connectors_before[key]), key
    assert not any(m.training for m in model.teachers.modules())


def test_assistant_checkpoint_loads_as_next_stage_teacher(tmp_path):
    assistant = _ta()
    path = tmp_path / 'assistant.pth'
    torch.save({'state_dict': assistant.state_dict()}, path)
    student = MODELS.build(
        dict(type='TeacherAssistant',
             student=_classifier((2, 4)),
             teachers=dict(assistant=dict(model=_classifier((4, 8)),
                                          ckpt=str(path))),
             feature_pairs=[dict(student_stage=1, teacher_stage=1,
                                 loss=dict(type='WassersteinFeatureLoss'),
                                 connector=dict(type='ConvConnector'))],
             probe_shape=(3, 16, 16)))
    for key, value in assistant.student.state_dict().items():
        assert torch.equal(student.teachers.assistant.model.state_dict()[key],
                           value), key


def test_config_errors_name_the_key():
    pair = dict(student_stage=0, teacher_stage=0,
                loss=dict(type='FeatureKLLoss'))
    with pytest.raises(IndexError, match=r'feature_pairs\[0\].student_stage'
                       r' is 5, which is not in model.student.backbone.'
                       r'out_indices \(0, 1\)'):
        _ta(feature_pairs=[dict(pair, student_stage=5)])
    # positions in out_indices are refused: they re-pair silently
    with pytest.raises(KeyError, match='student_stage / teacher_stage'):
        _ta(feature_pairs=[dict(student_index=0, teacher_index=0,
                                loss=dict(type='FeatureKLLoss'))])
    with pytest.raises(KeyError, match=r"feature_pairs\[0\].teacher is 'c'"):
        _ta(feature_pairs=[dict(pair, teacher='c')])
    with pytest.raises(ValueError, match='connector=None'):
        _ta(feature_pairs=[pair])
    with pytest.raises(ValueError, match='out_indices must be the stage'):
        _ta(student=_classifier((4, 8), out_indices=(0, )),
            feature_pairs=[dict(pair, connector=dict(type='ConvConnector'))])


def test_pairs_follow_stages_when_out_indices_are_edited():
    """Editing out_indices no longer re-pairs: stage 1 stays stage 1."""
    def pair_maps(student_out):
        model = _ta(student=_classifier((4, 8, 8), out_indices=student_out),
                    feature_pairs=[dict(student_stage=1, teacher_stage=1,
                                        teacher='b',
                                        loss=dict(type='ATLoss'))])
        inputs = torch.randn(2, 3, 16, 16)
        feats = model.student.backbone(inputs)
        return feats[model.feature_pairs[0]['student_index']]

    torch.testing.assert_close(pair_maps((0, 1, 2)), pair_maps((1, 2)))
