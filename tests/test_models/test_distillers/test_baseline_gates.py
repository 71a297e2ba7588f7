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


@pytest.mark.parametrize('tau', [1.0, 0.25])
def test_camkd_temperature_sharpens_towards_the_label_confident_teacher(tau):
    model = _gated(dict(type='CAMKDGate', temperature=tau), k=2)
    inputs, samples = _batch()
    logits, weights = model.gate_teachers(inputs, samples)
    p = torch.softmax(logits, -1).double().numpy()
    y = np.arange(6) % 3
    ce = -np.log(p[np.arange(6), :, y])
    # K = 2: w_k = softmax(-CE / tau)_k
    expected = np.exp(-ce / tau) / np.exp(-ce / tau).sum(1, keepdims=True)
    np.testing.assert_allclose(weights.double().numpy(), expected,
                               rtol=1e-5)
    with pytest.raises(ValueError, match='temperature of CAMKDGate'):
        _gated(dict(type='CAMKDGate', temperature=0), k=2)


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


def test_best_teacher_gate_picks_the_best_right_teacher():
    from medkd.models.gates import BestTeacherGate
    gate = BestTeacherGate(num_teachers=3)
    # (N=4, K=3, C=2) probabilities; labels 0, 0, 1, 1
    probs = torch.tensor([
        [[.9, .1], [.8, .2], [.3, .7]],   # teachers 0, 1 right
        [[.4, .6], [.7, .3], [.2, .8]],   # only teacher 1 right
        [[.6, .4], [.7, .3], [.8, .2]],   # none right: most confident in y
        [[.1, .9], [.2, .8], [.3, .7]],   # all right
    ])
    labels = torch.tensor([0, 0, 1, 1])
    gate.train()
    weights = gate(torch.zeros(4, 3, 8, 8), probs, labels)
    # right answers so far: teacher 0: 2, teacher 1: 3, teacher 2: 1 of 4
    torch.testing.assert_close(gate.accuracy, torch.tensor([.5, .75, .25]))
    assert weights.argmax(1).tolist() == [1, 1, 0, 1]
    torch.testing.assert_close(weights.sum(1), torch.ones(4))
    # evaluation does not count; no labels -> uniform
    gate.eval()
    gate(torch.zeros(4, 3, 8, 8), probs, labels)
    torch.testing.assert_close(gate.accuracy, torch.tensor([.5, .75, .25]))
    torch.testing.assert_close(gate(torch.zeros(4, 3, 8, 8), probs, None),
                               torch.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match='softmax head'):
        BestTeacherGate(num_teachers=2, head_kind='multi_label')


def test_best_teacher_gate_with_per_teacher_losses_is_that_teachers_kd():
    """Per-teacher losses with one-hot weights: each sample's loss is the
    single-teacher loss of the teacher the gate picked."""
    model = _gated(dict(type='BestTeacherGate'), k=2)
    model.teacher_mixing = 'losses'
    model.kd_loss = MODELS.build(dict(type='KDLoss', temperature=2.0))
    inputs, samples = _batch()
    model.train()
    logits, weights = model.gate_teachers(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    labels = model.hard_labels(samples)
    got = model.teacher_loss(z_s, logits, weights, labels)
    picked = logits[torch.arange(len(samples)), weights.argmax(1)]
    expected = model.kd_loss(z_s, picked)
    torch.testing.assert_close(got, expected)
