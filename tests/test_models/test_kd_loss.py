import math

import numpy as np
import pytest
import torch

from medkd.models.losses import KDLoss, SoftBCELoss

S = [[2, 1, 0.1, -1], [0.5, -0.3, 1.2, 0]]
T_ = [[3, 0.5, -0.5, -2], [0, 0.2, 2.5, -1]]
Y = [0, 2]


def _softmax(z, temp):
    e = np.exp(np.asarray(z, dtype=np.float64) / temp)
    return e / e.sum(axis=1, keepdims=True)


def test_kd_loss_reference_value_from_methods_md():
    loss = KDLoss(temperature=4.0)(
        torch.tensor(S, dtype=torch.float64),
        torch.tensor(T_, dtype=torch.float64))
    assert loss.item() == pytest.approx(0.3789554732068, abs=1e-6)


def test_kd_loss_equals_numpy_kl_and_accepts_probabilities():
    temp = 2.5
    p_t, p_s = _softmax(T_, temp), _softmax(S, temp)
    expected = temp**2 * np.mean(np.sum(p_t * np.log(p_t / p_s), axis=1))
    s = torch.tensor(S, dtype=torch.float64)
    loss = KDLoss(temperature=temp, loss_weight=0.5)
    assert loss(s, torch.tensor(T_, dtype=torch.float64)).item() == \
        pytest.approx(0.5 * expected, abs=1e-9)
    assert loss(s, torch.from_numpy(p_t), teacher_is_prob=True).item() == \
        pytest.approx(0.5 * expected, abs=1e-9)
    per_sample = KDLoss(temperature=temp, reduction='none')(
        s, torch.tensor(T_, dtype=torch.float64))
    assert per_sample.shape == (2, )
    assert per_sample.mean().item() == pytest.approx(expected, abs=1e-9)


def test_kd_loss_is_zero_for_identical_logits_and_rejects_bad_reduction():
    s = torch.tensor(S)
    assert KDLoss(temperature=3.0)(s, s).item() == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match='reduction'):
        KDLoss(reduction='mean')(s, s)


def test_cross_entropy_reference_value():
    ce = torch.nn.functional.cross_entropy(
        torch.tensor(S, dtype=torch.float64), torch.tensor(Y))
    assert ce.item() == pytest.approx(0.5764303735018, abs=1e-6)


def test_soft_bce_matches_formula_with_mask_and_t2():
    s = torch.tensor([[0.3, -1.0, 2.0], [1.5, 0.0, -0.5]], dtype=torch.float64)
    t = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]], dtype=torch.float64)
    mask = torch.tensor([[1, 0, 1], [1, 1, 1]], dtype=torch.float64)
    temp = 3.0

    def sig(x):
        return 1 / (1 + math.exp(-x))

    total = 0.0
    for i in range(2):
        for j in range(3):
            if mask[i, j] == 0:
                continue
            q, p = sig(t[i, j] / temp), sig(s[i, j] / temp)
            total += -(q * math.log(p) + (1 - q) * math.log(1 - p))
    expected = total / 2  # summed over labels, mean over the batch
    got = SoftBCELoss(temperature=temp)(s, t, mask=mask)
    assert got.item() == pytest.approx(expected, abs=1e-9)
    got_t2 = SoftBCELoss(temperature=temp, scale_by_t2=True)(s, t, mask=mask)
    assert got_t2.item() == pytest.approx(temp**2 * expected, abs=1e-9)
