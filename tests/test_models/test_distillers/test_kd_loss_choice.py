"""Every distiller takes every soft-label loss through ``kd_loss``: the
``loss_kd`` it logs equals the loss written out in numpy on its own
student and teacher logits (and labels, and mixtures)."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier
from reference_losses import np_dist, np_dkd, np_kd, np_logit_std, softmax, zscore

LOSSES = {
    'KDLoss': (dict(type='KDLoss', temperature=3.0),
               lambda s, t, y, pt=None: np_kd(s, t, 3.0, pt)),
    'LogitStdKDLoss': (dict(type='LogitStdKDLoss', temperature=2.0),
                       lambda s, t, y, pt=None: np_logit_std(s, t, 2.0, pt)),
    'DKDLoss': (dict(type='DKDLoss', alpha=1.0, beta=8.0, temperature=4.0),
                lambda s, t, y, pt=None: np_dkd(s, t, y, 1., 8., 4., pt)),
    'DISTLoss': (dict(type='DISTLoss', beta=1.0, gamma=2.0, temperature=1.0),
                 lambda s, t, y, pt=None: np_dist(s, t, 1., 2., 1., pt)),
}


def _batch(n=6, classes=3):
    g = torch.Generator().manual_seed(0)
    inputs = torch.randn(n, 3, 16, 16, generator=g)
    labels = torch.arange(n) % classes
    return inputs, [DataSample().set_gt_label(int(y)) for y in labels], \
        labels.numpy()


def _np(x):
    return x.detach().double().numpy()


def _build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg).double()
    model.init_weights()
    model.train()
    return model


def _teacher():
    return dict(model=tiny_classifier(channels=(6, 8)))


@pytest.mark.parametrize('loss', sorted(LOSSES))
@pytest.mark.parametrize('method', ['VanillaKD', 'CheckpointSequence'])
def test_single_teacher_distillers(method, loss):
    cfg, reference = LOSSES[loss]
    weight = dict(cls_weight=0.4, kd_weight=0.6)
    model = _build(dict(type=method, student=tiny_classifier(),
                        teachers=dict(t=_teacher()), kd_loss=cfg, **weight))
    inputs, samples, y = _batch()
    inputs = inputs.double()
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    z_t = model.teachers.t.model(inputs, mode='tensor')
    assert losses['loss_kd'].item() == pytest.approx(
        0.6 * reference(_np(z_s), _np(z_t), y), rel=1e-6)


@pytest.mark.parametrize('loss', sorted(LOSSES))
def test_teacher_assistant_kd_term(loss):
    cfg, reference = LOSSES[loss]
    model = _build(dict(type='TeacherAssistant', student=tiny_classifier(),
                        teachers=dict(a=_teacher(), b=_teacher()),
                        kd_weight=0.5, kd_loss=cfg))
    inputs, samples, y = _batch()
    inputs = inputs.double()
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    z_t = (model.teachers.a.model(inputs, mode='tensor') +
           model.teachers.b.model(inputs, mode='tensor')) / 2  # ensemble mean
    assert losses['loss_kd'].item() == pytest.approx(
        0.5 * reference(_np(z_s), _np(z_t), y), rel=1e-6)


@pytest.mark.parametrize('loss', sorted(LOSSES))
def test_gated_mixes_each_teacher_as_the_loss_softens_it(loss):
    """The mixture is Σ w_k · soften_k: LogitStdKD standardises every
    teacher before mixing; DKD / DIST / KD mix softmax(z_k / T)."""
    cfg, reference = LOSSES[loss]
    model = _build(dict(type='GatedMultiTeacher', student=tiny_classifier(),
                        teachers=dict(a=_teacher(), b=_teacher()),
                        cls_weight=0.3, kd_weight=0.7, kd_loss=cfg))
    inputs, samples, y = _batch()
    inputs = inputs.double()
    losses = model.loss(inputs, samples)
    z_s = _np(model.student(inputs, mode='tensor'))
    _, w = model.gate_teachers(inputs)
    w = _np(w)
    temp = cfg['temperature']
    z = [_np(model.teachers[k].model(inputs, mode='tensor')) for k in 'ab']
    if loss == 'LogitStdKDLoss':
        soft = [softmax(zscore(zk) / temp) for zk in z]
    else:
        soft = [softmax(zk / temp) for zk in z]
    mixed = w[:, :1] * soft[0] + w[:, 1:] * soft[1]
    assert not np.allclose(w, 0.5)  # a real mixture, not the mean
    assert losses['loss_kd'].item() == pytest.approx(
        0.7 * reference(z_s, None, y, pt=mixed), rel=1e-6)


@pytest.mark.parametrize('loss', ['DKDLoss', 'LogitStdKDLoss'])
def test_mm_mimo_gives_each_slot_its_own_labels(loss):
    cfg, reference = LOSSES[loss]
    slots = (3, 1)
    model = _build(dict(
        type='MultiModalMIMO',
        student=dict(
            type='MIMOClassifier', slot_channels=slots,
            backbone=dict(type='SimpleConvNet', channels=(4, 8),
                          kernel_sizes=(3, 3)),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='MIMOClsHead', num_classes=3, in_channels=8)),
        teachers={f'm{i}': dict(model=tiny_classifier(in_channels=c))
                  for i, c in enumerate(slots)},
        kd_loss=cfg))
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(5, 4, 8, 8, generator=g).double()
    slot_labels = torch.randint(0, 3, (5, 2), generator=g)
    samples = []
    for row in slot_labels:
        sample = DataSample().set_gt_label(int(row[0]))
        sample.set_field(row, 'slot_labels')
        samples.append(sample)
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    expected = 0.0
    for m in range(2):
        z_t = model.teachers[f'm{m}'].model(
            inputs[:, model.student.slot_slice(m)], mode='tensor')
        expected += reference(_np(z_s[:, m]), _np(z_t),
                              slot_labels[:, m].numpy())
    assert losses['loss_kd'].item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('loss', ['DKDLoss', 'LogitStdKDLoss', 'DISTLoss',
                                  'KDLoss'])
def test_a_softmax_loss_for_a_multi_label_student_is_refused(loss):
    with pytest.raises(ValueError, match=f'model.kd_loss: {loss}.*'
                       'multi_label.*SoftBCELoss'):
        MODELS.build(dict(
            type='VanillaKD', student=tiny_classifier(multi_label=True),
            teachers=dict(t=dict(model=tiny_classifier(multi_label=True))),
            kd_loss=dict(type=loss)))


def test_multi_label_default_is_soft_bce_and_bce_is_refused_for_softmax():
    model = MODELS.build(dict(
        type='VanillaKD', student=tiny_classifier(multi_label=True),
        teachers=dict(t=dict(model=tiny_classifier(multi_label=True)))))
    assert type(model.kd_loss).__name__ == 'SoftBCELoss'
    with pytest.raises(ValueError, match='SoftBCELoss.*softmax.*DKDLoss'):
        MODELS.build(dict(
            type='VanillaKD', student=tiny_classifier(),
            teachers=dict(t=_teacher()),
            kd_loss=dict(type='SoftBCELoss')))


def test_cached_teacher_outputs_feed_a_label_aware_loss():
    """DKD through the teacher-output cache equals DKD on live logits."""
    model = _build(dict(type='VanillaKD', student=tiny_classifier(),
                        teachers=dict(t=_teacher()),
                        kd_loss=LOSSES['DKDLoss'][0]))
    inputs, samples, y = _batch()
    inputs = inputs.double()
    live = model.loss(inputs, samples)['loss_kd']
    rows = model.teachers.t.model(inputs, mode='tensor').detach()

    class _Cache:  # a complete cache: every row is filled

        def missing(self, indices):
            return np.zeros(len(indices), bool)

        def lookup(self, indices):
            return rows[torch.as_tensor(indices)]

    for i, sample in enumerate(samples):
        sample.set_metainfo(dict(cache_index=i))
    model.teachers.t.cache = _Cache()
    model.teachers.t.model.forward = None  # a live teacher call would fail
    cached = model.loss(inputs, samples)['loss_kd']
    torch.testing.assert_close(cached, live)
