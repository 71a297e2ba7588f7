import copy

import numpy as np

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier


def _batch(n=6, num_classes=3, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, size, size, generator=g)
    labels = torch.arange(n) % num_classes
    return inputs, [DataSample().set_gt_label(int(y)) for y in labels], labels


def _gated(k=2, gate=None, **kwargs):
    torch.manual_seed(0)
    teachers = {
        f't{i}': dict(model=tiny_classifier(channels=(4 + 2 * i, 8)))
        for i in range(k)
    }
    model = MODELS.build(
        dict(type='GatedMultiTeacher', student=tiny_classifier(),
             teachers=teachers, gate=gate or dict(type='ImageGate'),
             **kwargs))
    model.init_weights()
    return model


class _OneHotGate(nn.Module):

    def __init__(self, k, index):
        super().__init__()
        self.k, self.index = k, index

    def forward(self, x, teacher_probs=None, labels=None):
        return F.one_hot(torch.full((x.size(0), ), self.index),
                         self.k).float()


@pytest.mark.parametrize('gate', ['ImageGate', 'ConfidenceGate'])
@pytest.mark.parametrize('k', [2, 3])
def test_gate_weights_sum_to_one_per_sample(gate, k):
    model = _gated(k, gate=dict(type=gate, resize_input=8, temperature=2.0))
    inputs, samples, _ = _batch()
    teacher_logits, weights = model.gate_teachers(inputs)
    assert teacher_logits.shape == (6, k, 3)
    assert weights.shape == (6, k)
    torch.testing.assert_close(weights.sum(1), torch.ones(6))
    assert (weights > 0).all()
    losses = model.loss(inputs, samples)
    assert {f'gate_w_t{i}' for i in range(k)} <= set(losses)
    total = sum(losses[f'gate_w_t{i}'] for i in range(k))
    assert total.item() == pytest.approx(1.0, abs=1e-6)


def test_one_hot_gate_equals_vanilla_kd_against_that_teacher():
    model = _gated(3, cls_weight=0.2, kd_weight=0.8,
                   kd_loss=dict(type='KDLoss', temperature=3.0))
    model.gate = _OneHotGate(3, index=1)
    inputs, samples, labels = _batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        z_t = model.teachers.t1.model(inputs, mode='tensor')
    z_s = model.student(inputs, mode='tensor')
    T = 3.0
    p_t = F.softmax(z_t / T, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(z_s / T, 1))).sum(1).mean()
    torch.testing.assert_close(losses['loss_kd'], 0.8 * T**2 * kl)
    torch.testing.assert_close(losses['loss_cls'],
                               0.2 * F.cross_entropy(z_s, labels))
    assert losses['gate_w_t1'].item() == 1.0


def test_mixture_is_weighted_sum_of_probabilities_not_logits():
    model = _gated(2, kd_loss=dict(type='KDLoss', temperature=2.0))
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]])
    weights = torch.tensor([[0.25, 0.75]])
    mixed = model.mix(logits, weights, model.kd_loss.soften)
    expected = 0.25 * F.softmax(logits[0, 0] / 2, 0) + 0.75 * F.softmax(
        logits[0, 1] / 2, 0)
    torch.testing.assert_close(mixed[0], expected)


def test_train_step_updates_gate_and_student_not_teachers():
    model = _gated(2, gate_entropy_weight=0.01, gate_ce_weight=0.1)
    model.train()
    before = copy.deepcopy(model.state_dict())
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    inputs, samples, _ = _batch()
    log_vars = model.train_step(
        dict(inputs=inputs, data_samples=samples), optim)
    assert {'loss_kd', 'loss_cls', 'loss_gate_entropy', 'loss_gate_ce',
            'gate_w_t0', 'gate_w_t1'} <= set(log_vars)
    after = model.state_dict()

    def changed(prefix):
        return [k for k in after if k.startswith(prefix)
                and after[k].is_floating_point()
                and not torch.equal(after[k], before[k])]

    assert changed('teachers.') == []
    assert changed('gate.features') and changed('gate.fc')
    assert changed('student.backbone') and changed('student.head')
    assert all(not m.training for m in model.teachers.modules())


def test_gate_learns_through_distillation_term_only():
    model = _gated(2, cls_weight=0.5, kd_weight=0.5)
    inputs, samples, _ = _batch()
    losses = model.loss(inputs, samples)
    grads = torch.autograd.grad(losses['loss_cls'],
                                list(model.gate.parameters()),
                                allow_unused=True)
    assert all(g is None for g in grads)
    grads = torch.autograd.grad(losses['loss_kd'],
                                list(model.gate.parameters()))
    assert any(g.abs().sum() > 0 for g in grads)


def test_predict_keeps_per_sample_gate_weights_and_teacher_input_size():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='GatedMultiTeacher', student=tiny_classifier(),
             teachers=dict(
                 small=dict(model=tiny_classifier()),
                 large=dict(model=tiny_classifier(), resize_input=32)),
             eval_teachers=True))  # the teachers run in predict
    seen = {}
    model.teachers.large.model.register_forward_pre_hook(
        lambda m, args, kwargs: seen.update(shape=args[0].shape),
        with_kwargs=True)
    model.eval()
    inputs, samples, _ = _batch()
    preds = model.predict(inputs, samples)
    assert seen['shape'][-2:] == (32, 32)
    weights = torch.stack([p.gate_weights for p in preds])
    assert weights.shape == (6, 2)
    torch.testing.assert_close(weights.sum(1), torch.ones(6))


def test_sigmoid_heads_mix_sigmoids_and_use_soft_bce():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='GatedMultiTeacher',
             student=tiny_classifier(2, multi_label=True),
             teachers=dict(a=dict(model=tiny_classifier(2, multi_label=True)),
                           b=dict(model=tiny_classifier(2, multi_label=True))),
             kd_loss=dict(type='SoftBCELoss', temperature=2.0,
                          scale_by_t2=True)))
    model.gate = _OneHotGate(2, index=0)
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label([i % 2]) for i in range(4)]
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        q = torch.sigmoid(model.teachers.a.model(inputs, mode='tensor') / 2)
    z_s = model.student(inputs, mode='tensor')
    bce = F.binary_cross_entropy_with_logits(z_s / 2, q, reduction='none')
    torch.testing.assert_close(losses['loss_kd'],
                               0.9 * 4 * bce.sum(1).mean())


def test_needs_at_least_two_teachers():
    with pytest.raises(ValueError, match='at least 2 teachers'):
        MODELS.build(
            dict(type='GatedMultiTeacher', student=tiny_classifier(),
                 teachers=dict(a=dict(model=tiny_classifier()))))


def test_eval_teachers_scores_come_from_one_teacher_forward():
    model = _gated(2, eval_teachers=True)
    model.eval()
    calls = []
    for teacher in model.teachers.values():
        teacher.register_forward_hook(lambda *args: calls.append(1))
    inputs, samples, _ = _batch()
    preds = model.predict(inputs, samples)
    assert len(calls) == 2  # each teacher once, shared by gate and scores
    with torch.no_grad():
        expected = F.softmax(model.teachers.t1.model(inputs, mode='tensor'), 1)
    torch.testing.assert_close(
        torch.stack([p.pred_score_t1 for p in preds]), expected)


class _FixedGate(nn.Module):

    def __init__(self, row):
        super().__init__()
        self.row = torch.tensor(row)

    def forward(self, x, teacher_probs=None, labels=None):
        return self.row.expand(x.size(0), -1)


@pytest.mark.parametrize('row', [[1.0, 0.0, 0.0], [1 / 3] * 3,
                                 [0.5, 0.25, 0.25]])
def test_gate_entropy_is_logged_per_sample_mean(row):
    model = _gated(3)
    model.gate = _FixedGate(row)
    inputs, samples, _ = _batch()
    losses = model.loss(inputs, samples)
    expected = -sum(w * np.log(w) for w in row if w > 0)
    assert losses['gate_entropy'].item() == pytest.approx(expected, abs=1e-5)
    assert not losses['gate_entropy'].requires_grad


def _gate_grad(model, key):
    inputs, samples, _ = _batch()
    model.zero_grad()
    model.loss(inputs, samples)[key].backward()
    return sum(p.grad.abs().sum().item() for p in model.gate.parameters()
               if p.grad is not None)


def test_gate_kd_grad_false_trains_the_gate_from_gate_ce_only():
    paper = _gated(2, gate_ce_weight=1.0)
    assert _gate_grad(paper, 'loss_kd') > 0  # the paper's gate learns via KD
    model = _gated(2, gate_ce_weight=1.0, gate_kd_grad=False)
    assert _gate_grad(model, 'loss_kd') == 0
    assert _gate_grad(model, 'loss_gate_ce') > 0
    # same KD value either way (only the gradient path differs)
    inputs, samples, _ = _batch()
    torch.testing.assert_close(
        model.loss(inputs, samples)['loss_kd'],
        paper.loss(inputs, samples)['loss_kd'])


def test_gate_kd_grad_false_without_a_gate_loss_is_refused():
    with pytest.raises(ValueError, match='gate_kd_grad=False.*gate_ce_weight'):
        _gated(2, gate_kd_grad=False)


def test_temperature_has_one_source_the_kd_loss():
    # a distiller-level temperature next to kd_loss's used to be ignored
    with pytest.raises(TypeError, match='temperature'):
        _gated(2, temperature=2.0, kd_loss=dict(type='KDLoss',
                                                temperature=4.0))
    model = _gated(2, kd_loss=dict(type='KDLoss', temperature=3.0))
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]])
    mixed = model.mix(logits, torch.tensor([[1.0, 0.0]]), model.kd_loss.soften)
    torch.testing.assert_close(mixed[0], F.softmax(logits[0, 0] / 3, 0))


class _FixedWeights(nn.Module):
    """A gate returning given (N, K) weights."""

    def __init__(self, weights):
        super().__init__()
        self.weights = weights

    def forward(self, x, teacher_probs=None, labels=None):
        return self.weights


def _kl_per_sample(z_t, z_s, T):
    p_t = F.softmax(z_t / T, 1)
    return T**2 * (p_t * (p_t.log() - F.log_softmax(z_s / T, 1))).sum(1)


@pytest.mark.parametrize('norm,scale', [('sum', 1.0), ('num_teachers', 1 / 3)])
def test_teacher_mixing_losses_is_the_weighted_sum_of_per_teacher_losses(
        norm, scale):
    T = 2.0
    model = _gated(3, kd_weight=0.7, cls_weight=0.3, teacher_mixing='losses',
                   teacher_loss_norm=norm,
                   kd_loss=dict(type='KDLoss', temperature=T))
    g = torch.Generator().manual_seed(1)
    weights = torch.softmax(torch.randn(6, 3, generator=g), 1)
    model.gate = _FixedWeights(weights)
    inputs, samples, _ = _batch()
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    with torch.no_grad():
        z_t = [getattr(model.teachers, f't{k}').model(inputs, mode='tensor')
               for k in range(3)]
    expected = sum((weights[:, k] * _kl_per_sample(z_t[k], z_s, T)).mean()
                   for k in range(3))
    torch.testing.assert_close(losses['loss_kd'], 0.7 * scale * expected)
    # ... which is not the loss of the mixture ('probs')
    mixed = sum(weights[:, k:k + 1] * F.softmax(z_t[k] / T, 1)
                for k in range(3))
    of_mixture = T**2 * (mixed * (mixed.log() - F.log_softmax(z_s / T, 1))
                         ).sum(1).mean()
    assert abs(losses['loss_kd'].item() - 0.7 * of_mixture.item()) > 1e-4


def test_camkd_with_per_teacher_losses_matches_the_official_formula():
    """CA-MKD's official train_student.py: attention = (1 - softmax_k(CE_k))
    / (K - 1), loss_div = Σ_{k,i} attention_ki · KL_ki(T) / (N · K)."""
    T = 4.0
    model = _gated(2, gate=dict(type='CAMKDGate'), kd_weight=1.0,
                   cls_weight=1.0, teacher_mixing='losses',
                   teacher_loss_norm='num_teachers',
                   kd_loss=dict(type='KDLoss', temperature=T))
    inputs, samples, labels = _batch()
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    with torch.no_grad():
        z_t = torch.stack([model.teachers.t0.model(inputs, mode='tensor'),
                           model.teachers.t1.model(inputs, mode='tensor')])
    ce = torch.stack([F.cross_entropy(z, labels, reduction='none')
                      for z in z_t])  # (K, N)
    attention = (1.0 - F.softmax(ce, dim=0)) / (2 - 1)
    kl_div = torch.stack([_kl_per_sample(z, z_s, T) for z in z_t])
    official = (attention * kl_div).sum() / (6 * 2)
    torch.testing.assert_close(losses['loss_kd'], official)


def test_per_teacher_dist_of_identical_teachers_is_the_single_teacher_loss():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='GatedMultiTeacher', student=tiny_classifier(),
             teachers=dict(t0=dict(model=tiny_classifier()),
                           t1=dict(model=tiny_classifier())),
             teacher_mixing='losses',
             kd_loss=dict(type='DISTLoss', temperature=4.0)))
    model.init_weights()
    model.teachers.t1.load_state_dict(model.teachers.t0.state_dict())
    model.gate = _FixedWeights(torch.full((6, 2), 0.5))
    inputs, samples, _ = _batch()
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    with torch.no_grad():
        z_t = model.teachers.t0.model(inputs, mode='tensor')
    single = model.kd_loss(z_s, z_t)
    torch.testing.assert_close(losses['loss_kd'], model.kd_weight * single)


def test_teacher_mixing_options_are_refused_with_the_key():
    with pytest.raises(ValueError, match="teacher_mixing must be 'probs'"):
        _gated(2, teacher_mixing='logits')
    with pytest.raises(ValueError, match='teacher_loss_norm'):
        _gated(2, teacher_loss_norm='num_teachers')
    with pytest.raises(ValueError, match='teacher_loss_norm must be'):
        _gated(2, teacher_mixing='losses', teacher_loss_norm='mean')

    from medkd.models.losses import SoftLabelLoss

    @MODELS.register_module(force=True)
    class _BatchOnlyLoss(SoftLabelLoss):

        def forward(self, s, t, labels=None, teacher_is_prob=False,
                    mask=None):
            return (s - t).pow(2).mean()

    with pytest.raises(ValueError, match="no per-sample or weighted form"):
        _gated(2, teacher_mixing='losses',
               kd_loss=dict(type='_BatchOnlyLoss'))
    # the loss of the mixture needs none
    _gated(2, kd_loss=dict(type='_BatchOnlyLoss'))
