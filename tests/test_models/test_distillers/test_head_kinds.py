"""One head-kind rule for every distiller and gate: one-logit heads are
refused, multi-label gates read per-label binary confidences, nonsensical
options are refused at build time."""
import math

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier


def _one_logit():
    cfg = tiny_classifier(1)
    cfg['head'].update(loss=dict(type='CrossEntropyLoss', use_sigmoid=True))
    cfg['head'].pop('topk', None)
    return cfg


@pytest.mark.parametrize('method', [
    'VanillaKD', 'CheckpointSequence', 'GatedMultiTeacher', 'TeacherAssistant'
])
@pytest.mark.parametrize('where', ['student', 'teacher'])
def test_a_one_logit_head_is_refused_naming_the_two_class_head(
        method, where):
    teachers = 2 if method == 'GatedMultiTeacher' else 1
    student = _one_logit() if where == 'student' else tiny_classifier(2)
    teacher = tiny_classifier(2) if where == 'student' else _one_logit()
    cfg = dict(
        type=method,
        student=student,
        teachers={f't{i}': dict(model=teacher)
                  for i in range(teachers)})
    with pytest.raises(ValueError, match='num_classes=2') as error:
        MODELS.build(cfg)
    assert ('model.student.head' if where == 'student' else
            'model.teachers.t0.model.head') in str(error.value)


def _multi_label_gated(gate='ConfidenceGate', labels=3, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='GatedMultiTeacher',
             student=tiny_classifier(labels, multi_label=True),
             teachers={
                 f't{i}': dict(model=tiny_classifier(
                     labels, channels=(4 + 2 * i, 8), multi_label=True))
                 for i in range(2)
             },
             gate=dict(type=gate),
             **kwargs))


def test_confidence_gate_reads_per_label_binary_confidence():
    model = _multi_label_gated()
    assert model.gate.head_kind == 'multi_label'
    rng = np.random.default_rng(0)
    p = rng.random((4, 2, 3))
    conf, entropy = model.gate.confidence_features(torch.from_numpy(p))
    expected_conf = np.maximum(p, 1 - p).mean(-1)
    h = -(p * np.log(p) + (1 - p) * np.log(1 - p)) / math.log(2)
    np.testing.assert_allclose(conf.numpy(), expected_conf, rtol=1e-6)
    np.testing.assert_allclose(entropy.numpy(), h.mean(-1), rtol=1e-6)


@pytest.mark.parametrize('labels', [1, 3])
def test_multi_label_gated_trains_with_finite_loss_and_soft_gate(labels):
    model = _multi_label_gated(labels=labels)
    model.init_weights()
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label([i % labels]) for i in range(4)]
    losses = model.loss(inputs, samples)
    _, weights = model.gate_teachers(inputs)
    # no division by log(1) = 0: the gate is not one-hot at initialisation
    assert torch.isfinite(weights).all() and weights.max() < 0.99
    assert losses['loss_kd'].item() >= 0
    grads = torch.autograd.grad(losses['loss_kd'],
                                list(model.student.parameters()))
    assert sum(g.abs().sum() for g in grads) > 0


def test_gate_ce_on_a_multi_label_head_is_refused():
    with pytest.raises(ValueError, match='model.gate_ce_weight'):
        _multi_label_gated(gate='ImageGate', gate_ce_weight=0.5)
    with pytest.raises(ValueError, match='model.gate.head_kind'):
        MODELS.build(
            dict(type='GatedMultiTeacher', student=tiny_classifier(),
                 teachers={f't{i}': dict(model=tiny_classifier())
                           for i in range(2)},
                 gate=dict(type='ImageGate', head_kind='multi_label')))


def test_to_probs_follows_the_head_kind():
    model = _multi_label_gated(gate='ImageGate', labels=1)
    z = torch.tensor([[0.3], [-1.0]])
    torch.testing.assert_close(model.to_probs(z), torch.sigmoid(z))
    softmax = MODELS.build(
        dict(type='VanillaKD', student=tiny_classifier(2),
             teachers=dict(t=dict(model=tiny_classifier(2)))))
    z = torch.tensor([[0.3, 1.0]])
    torch.testing.assert_close(softmax.to_probs(z), z.softmax(1))
