"""Uncertainty of test-set metrics: bootstrap CIs and paired comparisons.

A test set of a few hundred medical images gives metrics with wide
sampling error. :func:`bootstrap_ci` gives the percentile bootstrap
interval of one model's metrics (resampling test samples with replacement);
:func:`paired_bootstrap` the interval and p-value of the difference between
two models scored on the *same* resampled samples, and
:func:`mcnemar_exact` McNemar's exact test of two accuracies.

The resampled statistics are computed by :func:`summary_statistics`, a
vectorised numpy re-implementation of the keys of
:func:`~medkd.evaluation.metrics.medical_metric.compute_medical_metrics`
listed in :data:`CI_METRICS` (a test checks both agree).
"""
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np
from scipy.stats import binomtest, rankdata
from sklearn.metrics import roc_curve

__all__ = [
    'CI_METRICS', 'ci_metric_names', 'summary_statistics', 'bootstrap_ci',
    'paired_bootstrap', 'PairedResult', 'mcnemar_exact', 'youden_threshold',
    'bootstrap_indices', 'group_members', 'resampling_groups'
]

#: The metrics given a CI, per task kind (keys of compute_medical_metrics).
CI_METRICS = {
    'binary': ('accuracy', 'f1_weighted', 'sensitivity', 'specificity',
               'auc'),
    'multi_class': ('accuracy', 'f1_weighted', 'sensitivity_macro',
                    'specificity_macro', 'auc'),
    'multi_label': ('accuracy', 'f1_weighted', 'sensitivity_macro',
                    'specificity_macro', 'auc_mean'),
}


def ci_metric_names(num_classes: int, multi_label: bool) -> Sequence[str]:
    """The keys :func:`bootstrap_ci` reports for a task."""
    if multi_label:
        return CI_METRICS['multi_label']
    return CI_METRICS['binary' if num_classes == 2 else 'multi_class']


def youden_threshold(labels: np.ndarray, pos_scores: np.ndarray) -> float:
    """The score threshold maximising Youden's J = sensitivity +
    specificity - 1 on these samples (choose it on val, apply it on test).

    Args:
        labels (np.ndarray): ``(N, )`` 0/1, 1 = positive.
        pos_scores (np.ndarray): ``(N, )`` probability of the positive class.

    Returns:
        float: The threshold ``t``; predict positive when ``score >= t``.
    """
    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        raise ValueError('Youden threshold needs positive and negative '
                         f'samples, but all {len(labels)} are '
                         f'{"positive" if labels.all() else "negative"}.')
    fpr, tpr, thresholds = roc_curve(labels, pos_scores)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def _rank_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count 1/2); NaN when only
    one class is present. Equal to sklearn's ``roc_auc_score``."""
    positives = int(y_true.sum())
    negatives = len(y_true) - positives
    if positives == 0 or negatives == 0:
        return float('nan')
    ranks = rankdata(y_score)
    return float((ranks[y_true.astype(bool)].sum() - positives *
                  (positives + 1) / 2) / (positives * negatives))


def safe_divide(numerator, denominator):
    """Element-wise division that gives 0 where the denominator is 0 (as
    sklearn's ``zero_division=0``)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator,
                     denominator,
                     out=np.zeros_like(numerator),
                     where=denominator > 0)


def summary_statistics(scores: np.ndarray,
                       labels: np.ndarray,
                       multi_label: bool = False,
                       mask: Optional[np.ndarray] = None,
                       thr: float = 0.5,
                       pos_label: int = 1,
                       decision_threshold: Optional[float] = None
                       ) -> Dict[str, float]:
    """The :func:`ci_metric_names` metrics of one set of predictions, fast.

    Same definitions and units as ``compute_medical_metrics`` (percent;
    AUC in ``[0, 1]``). ``decision_threshold`` (binary only) predicts the
    positive class when its score is at least the threshold, instead of
    the arg-max.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels)
    n, num_classes = scores.shape
    if multi_label:
        keep = (np.ones(scores.shape, bool)
                if mask is None else np.asarray(mask).astype(bool))
        y = labels.astype(bool) & keep
        pred = (scores >= thr) & keep
        tp = (y & pred).sum(0)
        fp = (~y & pred & keep).sum(0)
        fn = (y & ~pred).sum(0)
        tn = keep.sum(0) - tp - fp - fn
        positives = y.sum(0)
        f1 = safe_divide(2 * tp, 2 * tp + fp + fn)
        aucs = np.array([
            _rank_auc(y[keep[:, j], j], scores[keep[:, j], j])
            for j in range(num_classes)
        ])
        finite = aucs[np.isfinite(aucs)]
        return dict(
            accuracy=float((tp.sum() + tn.sum()) / keep.sum() * 100),
            f1_weighted=float(
                (f1 * positives).sum() / positives.sum() *
                100) if positives.sum() else 0.0,
            sensitivity_macro=float(safe_divide(tp, tp + fn).mean() * 100),
            specificity_macro=float(safe_divide(tn, tn + fp).mean() * 100),
            auc_mean=float(finite.mean()) if len(finite) else float('nan'))

    labels = labels.astype(np.int64)
    if decision_threshold is not None and num_classes == 2:
        positive = scores[:, pos_label] >= decision_threshold
        pred = np.where(positive, pos_label, 1 - pos_label)
    else:
        pred = scores.argmax(1)
    cm = np.bincount(
        labels * num_classes + pred,
        minlength=num_classes**2).reshape(num_classes, num_classes)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    tn = n - tp - fp - fn
    support = cm.sum(1)
    f1 = safe_divide(2 * tp, 2 * tp + fp + fn)
    result = dict(
        accuracy=float(tp.sum() / n * 100),
        f1_weighted=float((f1 * support).sum() / n * 100))
    sensitivity = safe_divide(tp, tp + fn)
    specificity = safe_divide(tn, tn + fp)
    if num_classes == 2:
        result['sensitivity'] = float(sensitivity[pos_label] * 100)
        result['specificity'] = float(specificity[pos_label] * 100)
        result['auc'] = _rank_auc(labels == pos_label, scores[:, pos_label])
    else:
        result['sensitivity_macro'] = float(sensitivity.mean() * 100)
        result['specificity_macro'] = float(specificity.mean() * 100)
        aucs = np.array([
            _rank_auc(labels == c, scores[:, c]) for c in range(num_classes)
        ])
        finite = aucs[np.isfinite(aucs)]
        result['auc'] = float(finite.mean()) if len(finite) else float('nan')
    return result


def group_members(groups: Sequence) -> List[np.ndarray]:
    """The sample indices of each group (e.g. patient), groups in order of
    first appearance."""
    members: Dict = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    return [np.asarray(m) for m in members.values()]


def resampling_groups(groups: Optional[Sequence]) -> Optional[list]:
    """``groups`` when every sample has one (not None), else None (the
    bootstrap then resamples samples)."""
    if groups is None or any(g is None for g in groups):
        return None
    return list(groups)


def bootstrap_indices(num_samples: int,
                      n_bootstrap: int,
                      seed: int,
                      groups: Optional[Sequence] = None) -> List[np.ndarray]:
    """``n_bootstrap`` resamples (index arrays, with replacement) from
    ``np.random.default_rng(seed)``.

    Without ``groups`` each resample draws ``num_samples`` samples. With
    ``groups`` (one id per sample, e.g. its patient) it is a cluster
    bootstrap: each resample draws as many groups as there are, with
    replacement, and takes all the samples of each drawn group, so samples
    of one patient stay together (the unit that is independent).
    """
    if n_bootstrap < 1:
        raise ValueError(f'n_bootstrap must be >= 1, got {n_bootstrap}.')
    rng = np.random.default_rng(seed)
    if groups is None:
        return list(
            rng.integers(0, num_samples, size=(n_bootstrap, num_samples)))
    if len(groups) != num_samples:
        raise ValueError(f'{len(groups)} group ids for {num_samples} '
                         'samples: give one per sample')
    members = group_members(groups)
    draws = rng.integers(0, len(members), size=(n_bootstrap, len(members)))
    return [np.concatenate([members[g] for g in draw]) for draw in draws]


def bootstrap_ci(scores: np.ndarray,
                 labels: np.ndarray,
                 multi_label: bool = False,
                 mask: Optional[np.ndarray] = None,
                 n_bootstrap: int = 1000,
                 seed: int = 0,
                 level: float = 0.95,
                 groups: Optional[Sequence] = None,
                 **kwargs) -> Dict[str, float]:
    """Percentile bootstrap CIs of :func:`summary_statistics`.

    Resamples the N samples (or, with ``groups``, the groups: a cluster
    bootstrap over patients) with replacement ``n_bootstrap`` times
    (:func:`bootstrap_indices`), computes the metrics on each resample and
    returns the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles as
    ``<metric>_ci_low`` / ``<metric>_ci_high``. Resamples on which a metric
    is undefined (an AUC with one class) are left out of its percentiles.

    Args:
        scores, labels, multi_label, mask: As ``compute_medical_metrics``.
        n_bootstrap (int): Number of resamples. Defaults to 1000.
        seed (int): Seed of the resampling. Defaults to 0.
        level (float): Confidence level. Defaults to 0.95.
        groups (Sequence, optional): One group id per sample (its patient,
            slide or donor). Defaults to None (samples are independent).
        **kwargs: ``thr``, ``pos_label``, ``decision_threshold`` of
            :func:`summary_statistics`.

    Returns:
        dict[str, float]: The bounds.
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    mask = None if mask is None else np.asarray(mask)
    values = [
        _statistics_at(idx, scores, labels, mask, multi_label, kwargs)
        for idx in bootstrap_indices(len(scores), n_bootstrap, seed, groups)
    ]
    bounds = {}
    for key in values[0]:
        lo, hi = _percentile_bounds([v[key] for v in values], level)
        bounds[f'{key}_ci_low'], bounds[f'{key}_ci_high'] = lo, hi
    return bounds


def _statistics_at(idx, scores, labels, mask, multi_label, kwargs):
    """:func:`summary_statistics` of the samples ``idx``."""
    return summary_statistics(
        scores[idx],
        labels[idx],
        multi_label=multi_label,
        mask=None if mask is None else mask[idx],
        **kwargs)


def _percentile_bounds(values, level: float):
    """The central ``level`` percentile interval of the finite values
    (NaN, NaN when there is none)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return float('nan'), float('nan')
    lo, hi = np.percentile(values, [(1 - level) / 2 * 100,
                                    (1 + level) / 2 * 100])
    return float(lo), float(hi)


class PairedResult(NamedTuple):
    """One metric of two models on the same samples.

    Attributes:
        a (float): Model A's value on all samples.
        b (float): Model B's value on all samples.
        diff (float): ``b - a``.
        ci_low (float): Lower bound of the paired-bootstrap CI of ``diff``.
        ci_high (float): Upper bound.
        p_value (float): Two-sided paired-bootstrap p-value of ``diff != 0``:
            ``min(1, 2 * min(P*(d <= 0), P*(d >= 0)))`` over the resampled
            differences ``d``.
    """
    a: float
    b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_bootstrap(scores_a: np.ndarray,
                     scores_b: np.ndarray,
                     labels: np.ndarray,
                     multi_label: bool = False,
                     mask: Optional[np.ndarray] = None,
                     n_bootstrap: int = 1000,
                     seed: int = 0,
                     level: float = 0.95,
                     groups: Optional[Sequence] = None,
                     decision_thresholds: Optional[Sequence[
                         Optional[float]]] = None,
                     **kwargs) -> Dict[str, PairedResult]:
    """Paired-bootstrap comparison of two models on the same samples.

    Both models are scored on the same resampled indices, so the spread of
    ``b - a`` reflects only how the models differ, not which samples the
    test set happened to hold. With ``groups`` the resamples draw groups
    (patients), the same ones for both models.

    Args:
        scores_a, scores_b (np.ndarray): ``(N, C)`` probabilities of A, B.
        labels, multi_label, mask: As ``compute_medical_metrics``.
        n_bootstrap, seed, level, groups, **kwargs: As
            :func:`bootstrap_ci`.
        decision_thresholds (Sequence, optional): Binary tasks: ``(t_a,
            t_b)``, each model's own operating point (e.g. its Youden
            threshold chosen on val; None: arg-max). Defaults to None (the
            ``decision_threshold`` of ``kwargs``, if any, for both).

    Returns:
        dict[str, PairedResult]: One result per metric.
    """
    scores_a, scores_b = np.asarray(scores_a), np.asarray(scores_b)
    labels = np.asarray(labels)
    mask = None if mask is None else np.asarray(mask)
    if scores_a.shape != scores_b.shape:
        raise ValueError(f'scores of A {scores_a.shape} and B '
                         f'{scores_b.shape} differ in shape')

    kwargs_a, kwargs_b = dict(kwargs), dict(kwargs)
    if decision_thresholds is not None:
        kwargs_a['decision_threshold'], kwargs_b['decision_threshold'] = \
            decision_thresholds
    every = np.arange(len(labels))
    full_a = _statistics_at(every, scores_a, labels, mask, multi_label,
                            kwargs_a)
    full_b = _statistics_at(every, scores_b, labels, mask, multi_label,
                            kwargs_b)
    diffs = {key: [] for key in full_a}
    for idx in bootstrap_indices(len(labels), n_bootstrap, seed, groups):
        a = _statistics_at(idx, scores_a, labels, mask, multi_label, kwargs_a)
        b = _statistics_at(idx, scores_b, labels, mask, multi_label, kwargs_b)
        for key in diffs:
            diffs[key].append(b[key] - a[key])
    results = {}
    for key, values in diffs.items():
        d = np.array(values)
        d = d[np.isfinite(d)]
        lo, hi = _percentile_bounds(d, level)
        p = (min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0)))
             if len(d) else float('nan'))
        results[key] = PairedResult(full_a[key], full_b[key],
                                    full_b[key] - full_a[key], lo, hi,
                                    float(p))
    return results


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """McNemar's exact test of two classifiers' accuracies on the same
    samples: a two-sided binomial test of the discordant pairs.

    Args:
        correct_a, correct_b (np.ndarray): ``(N, )`` whether A / B is right
            on each sample.

    Returns:
        dict: ``only_a`` (A right, B wrong), ``only_b`` and ``p_value`` (1
        when there is no discordant pair).
    """
    correct_a = np.asarray(correct_a, bool)
    correct_b = np.asarray(correct_b, bool)
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else float(
        binomtest(only_a, discordant, 0.5).pvalue)
    return dict(only_a=only_a, only_b=only_b, p_value=p_value)
