"""LogitStdKDLoss, DKDLoss and DISTLoss against float64 numpy computations
written out from the papers' formulas."""
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from medkd.models.losses import DISTLoss, DKDLoss, KDLoss, LogitStdKDLoss
from reference_losses import np_dist, np_dkd, np_logit_std

# METHODS.md's reference inputs
S = np.array([[2, 1, 0.1, -1], [0.5, -0.3, 1.2, 0]], dtype=np.float64)
T_ = np.array([[3, 0.5, -0.5, -2], [0, 0.2, 2.5, -1]], dtype=np.float64)
Y = np.array([0, 2])
TEMP = 4.0
# printed in docs/distillation_losses.md
REFERENCE = dict(KDLoss=0.3789554732068)


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_logit_std_kd_equals_zscored_kl_and_ignores_logit_scale():
    for temp in (TEMP, 2.0):
        got = LogitStdKDLoss(temperature=temp)(_t(S), _t(T_))
        assert got.item() == pytest.approx(np_logit_std(S, T_, temp),
                                           abs=1e-9)
    # standardisation: scaling/shifting either side's logits changes nothing
    scaled = LogitStdKDLoss(temperature=2.0)(_t(S * 5 + 3), _t(T_ * 0.1 - 1))
    assert scaled.item() == pytest.approx(np_logit_std(S, T_, 2.0), abs=1e-6)
    # and differs from Hinton KD on the same inputs
    assert abs(np_logit_std(S, T_, TEMP) - REFERENCE['KDLoss']) > 1e-3


def test_dkd_equals_tckd_plus_nckd_written_out():
    for alpha, beta in ((1.0, 8.0), (0.5, 2.0)):
        got = DKDLoss(alpha=alpha, beta=beta, temperature=TEMP)(
            _t(S), _t(T_), labels=torch.tensor(Y))
        assert got.item() == pytest.approx(
            np_dkd(S, T_, Y, alpha, beta, TEMP), abs=1e-9)
    # with alpha = beta = 1, TCKD + NCKD is not KD (KD = TCKD + (1-p_t) NCKD)
    dkd11 = np_dkd(S, T_, Y, 1.0, 1.0, TEMP)
    assert dkd11 != pytest.approx(REFERENCE['KDLoss'], abs=1e-4)
    # the teacher given as probabilities (a gated mixture) gives the same
    probs = DKDLoss(temperature=TEMP).soften(_t(T_))
    from_probs = DKDLoss(temperature=TEMP)(
        _t(S), probs, labels=torch.tensor(Y), teacher_is_prob=True)
    assert from_probs.item() == pytest.approx(
        np_dkd(S, T_, Y, 1.0, 8.0, TEMP), abs=1e-9)


def test_dkd_needs_labels():
    with pytest.raises(ValueError, match='DKDLoss needs the labels'):
        DKDLoss()(_t(S), _t(T_))


def test_dkd_warmup_is_linear_in_epochs():
    hub = MessageHub.get_instance('dkd_warmup_test')
    loss = DKDLoss(temperature=TEMP, warmup_epochs=4)
    full = np_dkd(S, T_, Y, 1.0, 8.0, TEMP)
    for epoch, factor in ((0, 0.25), (1, 0.5), (2, 0.75), (3, 1.0), (9, 1.0)):
        hub.update_info('epoch', epoch)
        got = loss(_t(S), _t(T_), labels=torch.tensor(Y))
        assert got.item() == pytest.approx(factor * full, abs=1e-9)


def test_dist_equals_inter_plus_intra_pearson():
    for beta, gamma, temp in ((1.0, 1.0, 1.0), (2.0, 0.5, TEMP)):
        got = DISTLoss(beta=beta, gamma=gamma, temperature=temp)(_t(S),
                                                                 _t(T_))
        assert got.item() == pytest.approx(
            np_dist(S, T_, beta, gamma, temp), abs=1e-9)
    # identical logits: perfectly correlated, zero loss
    assert DISTLoss()(_t(S), _t(S)).item() == pytest.approx(0, abs=1e-5)


def test_dist_kl_term_adds_hintons_kd_at_the_same_temperature():
    got = DISTLoss(beta=2.0, gamma=2.0, temperature=TEMP, loss_weight=0.5,
                   kl_weight=0.25)(_t(S), _t(T_))
    expected = (0.5 * np_dist(S, T_, 2.0, 2.0, TEMP) +
                0.25 * REFERENCE['KDLoss'])  # T² KL at T = 4, batchmean
    assert got.item() == pytest.approx(expected, abs=1e-9)
    # the KL term alone (beta = gamma = 0) is Hinton KD's reference value
    kl_only = DISTLoss(beta=0.0, gamma=0.0, temperature=TEMP, kl_weight=1.0)
    assert kl_only(_t(S), _t(T_)).item() == pytest.approx(
        REFERENCE['KDLoss'], abs=1e-9)


@pytest.mark.parametrize('loss', [
    KDLoss(temperature=4.0),
    LogitStdKDLoss(temperature=2.0),
    DKDLoss(temperature=4.0),
    DISTLoss()
])
def test_gradients_reach_the_student_not_the_teacher(loss):
    s = _t(S).requires_grad_()
    t = _t(T_)
    value = loss(s, t, labels=torch.tensor(Y))
    value.backward()
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 1e-6
    assert not t.requires_grad


@pytest.mark.parametrize('cls', [KDLoss, LogitStdKDLoss, DKDLoss, DISTLoss])
def test_softmax_losses_refuse_a_per_label_mask(cls):
    with pytest.raises(ValueError, match='sigmoid'):
        cls()(_t(S), _t(T_), labels=torch.tensor(Y), mask=torch.ones(2, 4))


def test_reference_values_printed_in_docs():
    """docs/distillation_losses.md lists the values at METHODS.md's
    inputs; they must be what the losses return."""
    import os.path as osp
    import re
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    text = open(osp.join(root, 'docs', 'distillation_losses.md')).read()
    values = dict(
        KDLoss=REFERENCE['KDLoss'],
        LogitStdKDLoss=np_logit_std(S, T_, TEMP),
        DKDLoss=np_dkd(S, T_, Y, 1.0, 8.0, TEMP),
        DISTLoss=np_dist(S, T_, 1.0, 1.0, TEMP))
    for name, value in values.items():
        found = re.search(rf'\| `{name}[^|]*\|[^|]*\| ([0-9.]+) \|', text)
        assert found, f'no row for {name} in docs/distillation_losses.md'
        assert float(found.group(1)) == pytest.approx(value, abs=1e-9)
