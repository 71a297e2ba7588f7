"""Per-sample weighted soft-label losses (``SoftLabelLoss.weighted``) and
the multi-label DIST loss, against float64 numpy written from the formulas."""
import numpy as np
import pytest
import torch

from medkd.models.losses import (DISTLoss, DKDLoss, KDLoss, LogitStdKDLoss,
                                 MultiLabelDISTLoss, SoftBCELoss)
from reference_losses import kl, softmax, zscore

RNG = np.random.default_rng(3)
S = RNG.normal(size=(6, 4)) * 2
T_ = RNG.normal(size=(6, 4)) * 3
Y = np.array([0, 1, 2, 3, 0, 1])
W = np.array([0.9, 0.1, 0.5, 0.0, 1.0, 0.3])


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def wpearson(a, b, w):
    """Weighted Pearson, from the textbook formula (weights normalised)."""
    w = w / w.sum()
    ma, mb = (w * a).sum(), (w * b).sum()
    cov = (w * (a - ma) * (b - mb)).sum()
    va, vb = (w * (a - ma)**2).sum(), (w * (b - mb)**2).sum()
    return cov / np.sqrt(va * vb)


@pytest.mark.parametrize('loss', [
    KDLoss(temperature=2.0), LogitStdKDLoss(temperature=2.0),
    DKDLoss(temperature=3.0), DISTLoss(beta=2.0, gamma=1.0, temperature=4.0),
    DISTLoss(kl_weight=0.5)
])
def test_unit_weights_give_the_batch_loss(loss):
    ones = torch.ones(6, dtype=torch.float64)
    labels = torch.tensor(Y)
    torch.testing.assert_close(
        loss.weighted(_t(S), _t(T_), ones, labels=labels),
        loss(_t(S), _t(T_), labels=labels))


def test_weighted_kd_and_logit_std_are_the_weighted_sample_means():
    T = 2.0
    expected = np.mean(W * T**2 * kl(softmax(T_ / T), softmax(S / T)))
    got = KDLoss(temperature=T).weighted(_t(S), _t(T_), _t(W))
    assert got.item() == pytest.approx(expected, rel=1e-10)
    expected = np.mean(
        W * T**2 * kl(softmax(zscore(T_) / T), softmax(zscore(S) / T)))
    got = LogitStdKDLoss(temperature=T).weighted(_t(S), _t(T_), _t(W))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_weighted_dist_weighs_samples_in_both_relations():
    T, beta, gamma = 4.0, 2.0, 1.5
    ys, yt = softmax(S / T), softmax(T_ / T)
    inter = np.mean([W[i] * (1 - wpearson(ys[i], yt[i], np.ones(4)))
                     for i in range(6)])
    intra = W.mean() * np.mean(
        [1 - wpearson(ys[:, j], yt[:, j], W) for j in range(4)])
    expected = T**2 * (beta * inter + gamma * intra)
    got = DISTLoss(beta=beta, gamma=gamma, temperature=T).weighted(
        _t(S), _t(T_), _t(W))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_a_sample_of_weight_zero_does_not_move_the_student():
    s = _t(S).requires_grad_()
    DISTLoss(temperature=4.0).weighted(s, _t(T_), _t(W)).backward()
    assert s.grad[3].abs().max().item() < 1e-12  # W[3] = 0
    assert s.grad[0].abs().sum().item() > 1e-6


@pytest.mark.parametrize('weights', [[0.0] * 6, [0, 0, 1, 0, 0, 0]])
@pytest.mark.parametrize('loss', [DISTLoss(temperature=4.0),
                                  MultiLabelDISTLoss(temperature=4.0)])
def test_a_teacher_given_no_or_one_sample_has_finite_gradients(weights,
                                                                loss):
    """A gate that gives each sample to one teacher (``BestTeacherGate``)
    can leave a teacher no sample, or one, in a batch: its weighted
    intra-class correlation has zero variance. Before, the square root's
    gradient at 0 made every gradient NaN (training stopped at iteration
    2); now that teacher's term contributes nothing."""
    s = _t(S).requires_grad_()
    value = loss.weighted(s, _t(T_), _t(np.array(weights)))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(s.grad).all()
    if not any(weights):
        assert value.item() == 0 and s.grad.abs().max().item() == 0


def test_weighted_soft_bce_sums_labels_and_weighs_samples():
    T = 2.0
    mask = (RNG.random(size=(6, 4)) > 0.3).astype(float)
    p_t, p_s = sigmoid(T_ / T), sigmoid(S / T)
    bce = -(p_t * np.log(p_s) + (1 - p_t) * np.log(1 - p_s)) * mask
    expected = np.mean(W * T**2 * bce.sum(1))
    got = SoftBCELoss(temperature=T, scale_by_t2=True).weighted(
        _t(S), _t(T_), _t(W), mask=_t(mask))
    assert got.item() == pytest.approx(expected, rel=1e-8)


def test_multi_label_dist_on_the_label_scores_with_a_mask():
    T, beta, gamma = 2.0, 1.0, 2.0
    mask = np.ones((6, 4))
    mask[1, 2] = mask[4, 0] = mask[5, 3] = 0
    ys, yt = sigmoid(S / T), sigmoid(T_ / T)
    inter = np.mean([1 - wpearson(ys[i], yt[i], mask[i]) for i in range(6)])
    intra = np.mean(
        [1 - wpearson(ys[:, j], yt[:, j], mask[:, j]) for j in range(4)])
    expected = T**2 * (beta * inter + gamma * intra)
    loss = MultiLabelDISTLoss(beta=beta, gamma=gamma, temperature=T)
    got = loss(_t(S), _t(T_), mask=_t(mask))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # a masked entry's student score gets no gradient
    s = _t(S).requires_grad_()
    loss(s, _t(T_), mask=_t(mask)).backward()
    assert s.grad[1, 2].abs().item() < 1e-12
    assert s.grad[1, 1].abs().item() > 1e-8
    # correlations only: the teacher's own scores give 0 (up to the eps of
    # the correlation), scores that are not an affine map of them do not
    assert loss(_t(T_), _t(T_)).item() == pytest.approx(0.0, abs=1e-5)
    assert loss(_t(T_ * 0.5), _t(T_)).item() > 1e-3


def test_multi_label_dist_unit_weights_and_weighted_form():
    T = 2.0
    loss = MultiLabelDISTLoss(temperature=T, kl_weight=0.3)
    ones = torch.ones(6, dtype=torch.float64)
    torch.testing.assert_close(loss.weighted(_t(S), _t(T_), ones),
                               loss(_t(S), _t(T_)))
    ys, yt = sigmoid(S / T), sigmoid(T_ / T)
    inter = np.mean([W[i] * (1 - wpearson(ys[i], yt[i], np.ones(4)))
                     for i in range(6)])
    intra = W.mean() * np.mean(
        [1 - wpearson(ys[:, j], yt[:, j], W) for j in range(4)])
    bce = -(yt * np.log(ys) + (1 - yt) * np.log(1 - ys)).sum(1)
    expected = T**2 * (inter + intra) + 0.3 * T**2 * np.mean(W * bce)
    got = loss.weighted(_t(S), _t(T_), _t(W))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_multi_label_dist_refuses_a_softmax_head_and_one_label():
    from conftest import tiny_classifier
    from medkd.models.losses import build_kd_loss
    from medkd.registry import MODELS

    def build(**kwargs):
        return MODELS.build(tiny_classifier(**kwargs))
    with pytest.raises(ValueError, match='multi_label'):
        build_kd_loss(dict(type='MultiLabelDISTLoss'),
                      build(num_classes=3), 1.0)
    one_label = build(num_classes=1, multi_label=True)
    with pytest.raises(ValueError, match='beta=0'):
        build_kd_loss(dict(type='MultiLabelDISTLoss'), one_label, 1.0)
    assert build_kd_loss(dict(type='MultiLabelDISTLoss', beta=0.0),
                         one_label, 1.0).gamma == 1.0
    with pytest.raises(ValueError, match='MultiLabelDISTLoss'):
        build_kd_loss(dict(type='DISTLoss'),
                      build(num_classes=3, multi_label=True), 1.0)
