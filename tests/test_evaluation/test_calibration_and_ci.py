"""Calibration, decision thresholds, bootstrap CIs and paired tests, each
against scikit-learn or an independent computation written here."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample
from sklearn.metrics import (brier_score_loss, f1_score, recall_score,
                             roc_auc_score)

from medkd.evaluation import MedicalMetric, compute_medical_metrics
from medkd.evaluation.statistics import (bootstrap_ci, bootstrap_indices,
                                         mcnemar_exact, paired_bootstrap,
                                         summary_statistics, youden_threshold)


def _binary(n=120, seed=0, shift=1.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    logits = rng.normal(size=n) + shift * (2 * labels - 1)
    p = 1 / (1 + np.exp(-logits))
    return np.stack([1 - p, p], 1), labels


def _ece_by_loop(confidence, correct, bins=15):
    """ECE written out bin by bin, as in Guo et al. (2017)."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, k) for c, k in zip(confidence, correct)
                  if (lo < c <= hi) or (b == 0 and c == 0)]
        if inside:
            conf = np.mean([c for c, _ in inside])
            acc = np.mean([k for _, k in inside])
            total += len(inside) / len(confidence) * abs(acc - conf)
    return total


def test_ece_by_hand_and_by_loop():
    scores = np.array([[0.05, 0.95], [0.05, 0.95], [0.45, 0.55],
                       [0.45, 0.55]])
    labels = np.array([1, 0, 1, 1])
    # bin (14/15, 1]: conf 0.95, acc 0.5; bin (8/15, 9/15]: conf 0.55, acc 1
    metrics = compute_medical_metrics(scores, labels)
    assert metrics['ece'] == pytest.approx((0.5 * 0.45 + 0.5 * 0.45) * 100)

    rng = np.random.default_rng(1)
    scores = rng.dirichlet(np.ones(4), size=200)
    labels = rng.integers(0, 4, 200)
    expected = _ece_by_loop(scores.max(1), scores.argmax(1) == labels)
    assert compute_medical_metrics(scores, labels)['ece'] == pytest.approx(
        expected * 100)


def test_brier_against_sklearn():
    scores, labels = _binary()
    # binary: the positive class's mean squared error, in [0, 1], as
    # scikit-learn and medical papers report it (not the two-class sum)
    assert compute_medical_metrics(scores, labels)['brier'] == pytest.approx(
        brier_score_loss(labels, scores[:, 1]))
    assert compute_medical_metrics(
        scores, labels, pos_label=0)['brier'] == pytest.approx(
            brier_score_loss(labels == 0, scores[:, 0]))
    # more classes: Brier's multi-class sum over classes, in [0, 2]
    rng = np.random.default_rng(3)
    three = rng.dirichlet(np.ones(3), size=40)
    y3 = rng.integers(0, 3, size=40)
    assert compute_medical_metrics(three, y3)['brier'] == pytest.approx(
        np.mean(((three - np.eye(3)[y3])**2).sum(1)))
    rng = np.random.default_rng(2)
    scores = rng.random((50, 3))
    targets = (rng.random((50, 3)) > 0.5).astype(int)
    mask = rng.random((50, 3)) > 0.2
    metrics = compute_medical_metrics(
        scores, targets, multi_label=True, mask=mask)
    assert metrics['brier'] == pytest.approx(
        np.mean((scores[mask] - targets[mask])**2))
    for j in range(3):
        keep = mask[:, j]
        conf = np.maximum(scores[keep, j], 1 - scores[keep, j])
        right = (scores[keep, j] >= 0.5) == targets[keep, j]
        assert metrics[f'ece/{j}'] == pytest.approx(
            _ece_by_loop(conf, right) * 100)
        assert metrics[f'sensitivity/{j}'] == pytest.approx(
            recall_score(targets[keep, j], scores[keep, j] >= 0.5) * 100)
        assert metrics[f'specificity/{j}'] == pytest.approx(
            recall_score(
                targets[keep, j], scores[keep, j] >= 0.5, pos_label=0) * 100)


def test_decision_threshold_and_youden():
    scores, labels = _binary(shift=0.6)
    # Youden by brute force over every candidate threshold
    best, best_j = None, -1
    for t in np.unique(scores[:, 1]):
        pred = scores[:, 1] >= t
        j = (recall_score(labels, pred) + recall_score(
            labels, pred, pos_label=0) - 1)
        if j > best_j:
            best, best_j = t, j
    thr = youden_threshold(labels, scores[:, 1])
    pred = scores[:, 1] >= thr
    assert recall_score(labels, pred) + recall_score(
        labels, pred, pos_label=0) - 1 == pytest.approx(best_j)

    metrics = compute_medical_metrics(scores, labels, decision_threshold=0.3)
    pred = scores[:, 1] >= 0.3
    sensitivity = recall_score(labels, pred) * 100
    specificity = recall_score(labels, pred, pos_label=0) * 100
    assert metrics['sensitivity'] == pytest.approx(sensitivity)
    assert metrics['specificity'] == pytest.approx(specificity)
    assert metrics['sensitivity'] != pytest.approx(metrics['specificity'])
    assert metrics['decision_threshold'] == 0.3
    with pytest.raises(ValueError, match='binary tasks only'):
        compute_medical_metrics(
            np.full((3, 3), 1 / 3), np.arange(3), decision_threshold=0.5)
    with pytest.raises(ValueError, match='positive and negative'):
        youden_threshold(np.ones(4), np.linspace(0, 1, 4))


@pytest.mark.parametrize('kind', ['binary', 'multi_class', 'multi_label'])
def test_summary_statistics_agree_with_compute_medical_metrics(kind):
    rng = np.random.default_rng(3)
    kwargs = {}
    if kind == 'binary':
        scores, labels = _binary()
        kwargs = dict(decision_threshold=0.4)
    elif kind == 'multi_class':
        scores = rng.dirichlet(np.ones(4), size=80)
        labels = rng.integers(0, 4, 80)
    else:
        scores = rng.random((80, 3))
        labels = (rng.random((80, 3)) > 0.6).astype(int)
        kwargs = dict(multi_label=True, mask=rng.random((80, 3)) > 0.1)
    fast = summary_statistics(scores, labels, **kwargs)
    full = compute_medical_metrics(scores, labels, **kwargs)
    assert len(fast) == 5
    for key, value in fast.items():
        assert value == pytest.approx(full[key]), key


def test_bootstrap_ci_against_an_independent_resampling():
    scores, labels = _binary(n=60)
    bounds = bootstrap_ci(scores, labels, n_bootstrap=40, seed=7)
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 60, size=(40, 60))
    aucs = [roc_auc_score(labels[i], scores[i, 1]) for i in idx]
    f1s = [
        f1_score(labels[i], scores[i].argmax(1), average='weighted') * 100
        for i in idx
    ]
    assert bounds['auc_ci_low'] == pytest.approx(np.percentile(aucs, 2.5))
    assert bounds['auc_ci_high'] == pytest.approx(np.percentile(aucs, 97.5))
    assert bounds['f1_weighted_ci_low'] == pytest.approx(
        np.percentile(f1s, 2.5))
    # the point estimate lies inside its interval
    point = compute_medical_metrics(scores, labels)
    for key in ('accuracy', 'sensitivity', 'specificity', 'auc'):
        assert bounds[f'{key}_ci_low'] <= point[key] <= bounds[
            f'{key}_ci_high']
    np.testing.assert_array_equal(bootstrap_indices(60, 40, 7), idx)


def test_paired_bootstrap_and_mcnemar():
    scores, labels = _binary(n=200, shift=0.3)
    better = scores.copy()
    better[np.arange(200), labels] += 0.3
    better /= better.sum(1, keepdims=True)

    same = paired_bootstrap(scores, scores, labels, n_bootstrap=50)
    assert same['auc'].diff == 0 and same['auc'].p_value == 1.0
    result = paired_bootstrap(scores, better, labels, n_bootstrap=200)
    auc = result['auc']
    assert auc.a == pytest.approx(roc_auc_score(labels, scores[:, 1]))
    assert auc.b == pytest.approx(roc_auc_score(labels, better[:, 1]))
    assert auc.diff > 0 and auc.ci_low > 0 and auc.p_value < 0.01

    # 1 sample only A gets right, 9 only B: two-sided binomial, n = 10
    correct_a = np.array([1] + [0] * 9 + [1] * 5, bool)
    correct_b = np.array([0] + [1] * 9 + [1] * 5, bool)
    test = mcnemar_exact(correct_a, correct_b)
    assert (test['only_a'], test['only_b']) == (1, 9)
    assert test['p_value'] == pytest.approx(2 * (1 + 10) / 2**10)
    assert mcnemar_exact(correct_a, correct_a)['p_value'] == 1.0


def test_metric_adds_youden_threshold_and_cis():
    scores, labels = _binary(n=40)
    samples = [
        DataSample().set_gt_label(int(y)).set_pred_score(
            torch.tensor(s, dtype=torch.float32)).to_dict()
        for s, y in zip(scores, labels)
    ]
    evaluator = Evaluator(
        MedicalMetric(youden=True, ci=True, n_bootstrap=30, seed=1))
    evaluator.process(samples)
    metrics = evaluator.evaluate(len(samples))
    assert metrics['medical/youden_threshold'] == pytest.approx(
        youden_threshold(labels, scores[:, 1]), abs=1e-6)
    expected = bootstrap_ci(scores, labels, n_bootstrap=30, seed=1)
    for key, value in expected.items():
        assert metrics[f'medical/{key}'] == pytest.approx(value, abs=1e-4)
    assert {'medical/ece', 'medical/brier'} <= set(metrics)
    with pytest.raises(ValueError, match='multi-label'):
        MedicalMetric(multi_label=True, youden=True)


def _clustered(patients=12, cells=130, seed=0):
    """12 patients x 130 cells whose per-patient accuracy varies (some
    patients are hard): the images of one patient are not independent."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f'p{i:02d}' for i in range(patients)], cells)
    p_right = np.repeat(rng.uniform(0.65, 0.99, patients), cells)
    labels = rng.integers(0, 2, len(groups))
    right = rng.random(len(groups)) < p_right
    preds = np.where(right, labels, 1 - labels)
    conf = rng.uniform(0.55, 0.95, len(groups))
    scores = np.zeros((len(groups), 2))
    scores[np.arange(len(groups)), preds] = conf
    scores[np.arange(len(groups)), 1 - preds] = 1 - conf
    return scores, labels, groups


def test_cluster_bootstrap_resamples_patients_and_is_wider():
    scores, labels, groups = _clustered()
    cluster = bootstrap_ci(scores, labels, n_bootstrap=300, seed=1,
                           groups=groups)
    image = bootstrap_ci(scores, labels, n_bootstrap=300, seed=1)
    # independent: draw 12 patients with replacement, take all their cells
    rng = np.random.default_rng(1)
    ids = list(dict.fromkeys(groups))
    accs = []
    for draw in rng.integers(0, len(ids), size=(300, len(ids))):
        idx = np.concatenate([np.flatnonzero(groups == ids[g])
                              for g in draw])
        accs.append(np.mean(scores[idx].argmax(1) == labels[idx]) * 100)
    assert cluster['accuracy_ci_low'] == pytest.approx(
        np.percentile(accs, 2.5))
    assert cluster['accuracy_ci_high'] == pytest.approx(
        np.percentile(accs, 97.5))
    width = {name: ci['accuracy_ci_high'] - ci['accuracy_ci_low']
             for name, ci in (('cluster', cluster), ('image', image))}
    assert width['cluster'] > 2 * width['image']


def test_paired_bootstrap_draws_the_same_patients_for_both_models():
    scores, labels, groups = _clustered(seed=2)
    other = scores[:, ::-1].copy()  # every prediction flipped
    paired = paired_bootstrap(scores, other, labels, n_bootstrap=200,
                              seed=3, groups=groups)['accuracy']
    # flipping makes B's accuracy 100 - A's on any resample, so the
    # difference is 100 - 2 A on the same patients: its CI follows A's
    single = bootstrap_ci(scores, labels, n_bootstrap=200, seed=3,
                          groups=groups)
    assert paired.ci_low == pytest.approx(100 - 2 * single['accuracy_ci_high'])
    assert paired.ci_high == pytest.approx(100 - 2 * single['accuracy_ci_low'])


def test_medical_metric_says_which_unit_its_intervals_resample():
    from mmengine.evaluator import Evaluator
    from mmpretrain.structures import DataSample
    scores, labels, groups = _clustered(patients=6, cells=20)

    def samples(with_patients):
        out = []
        for s, y, g in zip(scores, labels, groups):
            sample = DataSample().set_gt_label(int(y)).set_pred_score(
                torch.tensor(s, dtype=torch.float32))
            if with_patients:
                sample.set_metainfo(dict(patient_id=g))
            out.append(sample.to_dict())
        return out

    for with_patients, unit in ((True, 6.0), (False, 0.0)):
        evaluator = Evaluator(MedicalMetric(ci=True, n_bootstrap=50))
        evaluator.process(samples(with_patients))
        metrics = evaluator.evaluate(len(labels))
        assert metrics['medical/ci_patients'] == unit
        expected = bootstrap_ci(scores, labels, n_bootstrap=50, seed=0,
                                groups=groups if with_patients else None)
        assert metrics['medical/accuracy_ci_low'] == pytest.approx(
            expected['accuracy_ci_low'])
