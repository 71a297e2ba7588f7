"""Temperature scaling: the fit against an independent NLL minimisation,
and the metrics it must not change."""
import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from medkd.evaluation.metrics.medical_metric import compute_medical_metrics
from medkd.models.calibration import (TemperatureScaling, attach_calibration,
                                      calibration_options)
from conftest import tiny_classifier


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _under_confident(n=400, classes=4, seed=0, shrink=0.15):
    """Scores of a model whose logits are ``shrink`` times too small: right
    ranking, near-uniform probabilities (the DIST students' symptom)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) * 1.5
    logits[np.arange(n), labels] += 2.5
    return logits * shrink, labels


def _nll_of_t(t, z, labels):
    p = _softmax(z / t)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


def test_the_scalar_temperature_is_the_val_nll_minimiser():
    z, labels = _under_confident()
    scores = torch.from_numpy(_softmax(z)).float()
    fitted = TemperatureScaling().fit(scores, torch.from_numpy(labels),
                                      multi_label=False)
    # independent: Brent's method on log T over the NLL written in numpy
    best = minimize_scalar(lambda s: _nll_of_t(np.exp(s), z, labels),
                           bounds=(-5, 5), method='bounded',
                           options=dict(xatol=1e-10))
    assert float(fitted.temperature) == pytest.approx(np.exp(best.x),
                                                      rel=1e-4)
    assert float(fitted.temperature) < 0.5  # sharpens an under-confident one
    assert fitted.fit_stats['nll_after'] == pytest.approx(best.fun, rel=1e-6)
    assert fitted.fit_stats['nll_before'] == pytest.approx(
        _nll_of_t(1.0, z, labels), rel=1e-5)


def test_calibration_keeps_accuracy_and_auc_and_lowers_ece():
    z, labels = _under_confident(classes=2, seed=1)
    raw = _softmax(z)
    fitted = TemperatureScaling().fit(torch.from_numpy(raw).float(),
                                      torch.from_numpy(labels), False)
    calibrated = fitted(torch.from_numpy(raw).float(), False).numpy()
    np.testing.assert_allclose(calibrated, _softmax(z / float(
        fitted.temperature)), atol=1e-6)
    before = compute_medical_metrics(raw, labels)
    after = compute_medical_metrics(calibrated, labels)
    for key in ('accuracy', 'auc', 'sensitivity', 'specificity',
                'f1_weighted'):
        assert after[key] == pytest.approx(before[key], abs=1e-9), key
    assert before['ece'] > 20 and after['ece'] < before['ece'] / 3
    assert after['brier'] < before['brier']


def test_sigmoid_heads_fit_one_temperature_or_one_per_label():
    rng = np.random.default_rng(4)
    n, labels_count = 500, 3
    targets = (rng.random((n, labels_count)) > 0.5).astype(np.float64)
    # the log-odds of these classes are the logits: T = the scale
    logits = (targets * 2 - 1) * 0.5 + rng.normal(size=(n, labels_count))
    scale = np.array([0.3, 1.0, 3.0])  # one label each: under, fine, over
    z = logits * scale
    mask = rng.random((n, labels_count)) > 0.1
    scores = torch.from_numpy(1 / (1 + np.exp(-z))).float()
    fitted = TemperatureScaling(per_label=True).fit(
        scores, torch.from_numpy(targets), True, torch.from_numpy(mask))

    def bce(t, j):
        keep = mask[:, j]
        p = 1 / (1 + np.exp(-z[keep, j] / t))
        y = targets[keep, j]
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    for j in range(labels_count):
        best = minimize_scalar(lambda s: bce(np.exp(s), j), bounds=(-5, 5),
                               method='bounded', options=dict(xatol=1e-10))
        assert float(fitted.temperature[j]) == pytest.approx(
            np.exp(best.x), rel=2e-3)
    assert fitted.temperature[0] < 1 < fitted.temperature[2]
    # sigmoid predictions at 0.5 never change
    calibrated = fitted(scores, True)
    assert torch.equal(calibrated >= 0.5, scores >= 0.5)
    with pytest.raises(ValueError, match='per_label=True needs a sigmoid'):
        TemperatureScaling(per_label=True).fit(
            torch.full((2, 2), 0.5), torch.tensor([0, 1]), False)


def test_an_attached_model_predicts_calibrated_scores_and_logits():
    from medkd.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(tiny_classifier(num_classes=3)).eval()
    inputs = torch.randn(5, 3, 16, 16)
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
        raw = model(inputs, mode='predict')
    calibration = TemperatureScaling(temperature=0.25)
    attach_calibration(model, calibration)
    with torch.no_grad():
        scaled = model(inputs, mode='tensor')
        calibrated = model(inputs, mode='predict')
    torch.testing.assert_close(scaled, logits / 0.25)
    for before, after, z in zip(raw, calibrated, logits):
        torch.testing.assert_close(after.pred_score,
                                   torch.softmax(z / 0.25, 0), atol=1e-6,
                                   rtol=1e-5)
        torch.testing.assert_close(after.pred_score_uncalibrated,
                                   before.pred_score)
        assert int(after.pred_label) == int(before.pred_label)
    attach_calibration(model, TemperatureScaling(temperature=1.0))
    with torch.no_grad():  # re-attaching replaces, never compounds
        torch.testing.assert_close(model(inputs, mode='tensor'), logits)


@pytest.mark.parametrize('cfg,error,match', [
    (dict(type='Platt'), ValueError, "calibration.type.*'Platt'"),
    (dict(type='TemperatureScaling', fit='always'), ValueError,
     'calibration.fit.*always'),
    (dict(type='TemperatureScaling', bins=15), KeyError,
     "unknown keys \\['bins'\\]"),
])
def test_bad_calibration_options_name_the_key_and_file(cfg, error, match):
    with pytest.raises(error, match=match) as found:
        calibration_options(cfg, 'configs/x.py')
    assert 'configs/x.py' in str(found.value)
