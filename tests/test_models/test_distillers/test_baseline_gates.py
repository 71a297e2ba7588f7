"""MeanGate and CAMKDGate: the multi-teacher baselines of the learned gate."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier


def _gated(gate, k=3, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='GatedMultiTeacher', student=tiny_classifier(),
             teachers={f't{i}': dict(model=tiny_classifier(
                 channels=(4 + 2 * i, 8))) for i in range(k)},
             gate=gate, **kwargs))
    model.init_weights()
    return model


def _batch(n=6):
    torch.manual_seed(1)
    return (torch.randn(n, 3, 16, 16),
            [DataSample().set_gt_label(i % 3) for i in range(n)])


def test_mean_gate_gives_one_over_k():
    model = _gated(dict(type='MeanGate'), k=3)
    inputs, samples = _batch()
    _, weights = model.gate_teachers(inputs, samples)
    torch.testing.assert_close(weights, torch.full((6, 3), 1 / 3))
    assert list(model.gate.parameters()) == []


def test_camkd_weights_against_numpy():
    model = _gated(dict(type='CAMKDGate'), k=3)
    inputs, samples = _batch()
    logits, weights = model.gate_teachers(inputs, samples)
    p = torch.softmax(logits, -1).double().numpy()  # (N, K, C)
    y = np.arange(6) % 3
    ce = -np.log(p[np.arange(6), :, y])  # (N, K)
    soft = np.exp(ce) / np.exp(ce).sum(1, keepdims=True)
    expected = (1 - soft) / (3 - 1)
    np.testing.assert_allclose(weights.double().numpy(), expected,
                               rtol=1e-5)
    torch.testing.assert_close(weights.sum(1), torch.ones(6))
    # the teacher with the lowest cross-entropy weighs most
    assert (weights.argmax(1).numpy() == ce.argmin(1)).all()
    # without labels the weights are uniform
    _, unlabelled = model.gate_teachers(inputs)
    torch.testing.assert_close(unlabelled, torch.full((6, 3), 1 / 3))


def test_learned_gate_with_uniform_weights_equals_the_mean_gate():
    learned = _gated(dict(type='ImageGate'))
    last = learned.gate.fc[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    mean = _gated(dict(type='MeanGate'))
    mean.student.load_state_dict(learned.student.state_dict())
    mean.teachers.load_state_dict(learned.teachers.state_dict())
    inputs, samples = _batch()
    ours, theirs = learned.loss(inputs, samples), mean.loss(inputs, samples)
    for key in ('loss_cls', 'loss_kd'):
        torch.testing.assert_close(ours[key], theirs[key])


def test_camkd_refuses_multi_label_heads():
    with pytest.raises(ValueError, match='CAMKDGate.*softmax'):
        MODELS.build(
            dict(type='GatedMultiTeacher',
                 student=tiny_classifier(3, multi_label=True),
                 teachers={f't{i}': dict(model=tiny_classifier(
                     3, multi_label=True)) for i in range(2)},
                 gate=dict(type='CAMKDGate')))


def test_parameter_free_gates_train_with_gate_kd_grad_false():
    model = _gated(dict(type='MeanGate'), gate_kd_grad=False)
    inputs, samples = _batch()
    assert model.loss(inputs, samples)['loss_kd'].item() >= 0
