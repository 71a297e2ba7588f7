"""Medical classification metrics: AUC, sensitivity, specificity and friends.

:func:`compute_medical_metrics` is a pure numpy function shared by the
:class:`MedicalMetric` evaluator and offline tools (cross-validation,
reports). Every value is a percentage in ``[0, 100]`` except the AUC values,
which stay in ``[0, 1]`` as is customary in the medical literature.
"""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.structures import label_to_onehot
from sklearn.metrics import (confusion_matrix, precision_recall_fscore_support,
                             roc_auc_score)

from medkd.evaluation.statistics import (bootstrap_ci, resampling_groups,
                                         safe_divide, youden_threshold)
from medkd.registry import METRICS
from .calibration import (UNCALIBRATED_FIELD, binary_confidences,
                          brier_score,
                          expected_calibration_error)

__all__ = ['compute_medical_metrics', 'MedicalMetric']


def compute_medical_metrics(
        scores: np.ndarray,
        labels: np.ndarray,
        multi_label: bool = False,
        mask: Optional[np.ndarray] = None,
        thr: float = 0.5,
        class_names: Optional[Sequence[str]] = None,
        pos_label: int = 1,
        decision_threshold: Optional[float] = None) -> Dict[str, float]:
    """Compute classification metrics for medical images.

    All values are percentages in ``[0, 100]`` except the AUC values
    (``auc``, ``auc_weighted``, ``auc_mean``, ``auc/<name>``), which are in
    ``[0, 1]``. An AUC that is undefined (only one class present among the
    evaluated entries) is NaN, excluded from the AUC means, and reported by a
    single warning.

    Single-label keys: ``accuracy``; ``precision``, ``recall``,
    ``sensitivity`` (= recall), ``f1`` and ``specificity`` (one-vs-rest
    ``TN / (TN + FP)``), each with the suffix ``_macro`` and ``_weighted``
    (weighted by class support); ``auc``, which is
    ``roc_auc_score(labels, scores[:, 1])`` for two classes and the
    one-vs-rest macro AUC otherwise, in which case ``auc_weighted`` (weighted
    by class support) is added.

    Binary (two-class) tasks add the metrics of the positive class
    ``pos_label`` (e.g. C-NMC's ``all`` = blast = 1), the ones a screening
    study quotes: ``sensitivity`` (= recall, ``TP / (TP + FN)``),
    ``specificity`` (``TN / (TN + FP)``), ``ppv`` (= precision,
    ``TP / (TP + FP)``), ``npv`` (``TN / (TN + FN)``), ``balanced_accuracy``
    (mean of sensitivity and specificity) and ``f1`` (of the positive class).
    (The ``_macro`` values average both classes, so macro sensitivity equals
    macro specificity for two classes: quote the positive-class ones.)
    With ``decision_threshold`` a binary prediction is positive when the
    positive-class score is at least the threshold (e.g. Youden's, chosen on
    val), instead of the arg-max; every thresholded metric then uses it.

    Calibration, for every task: ``ece``, the expected calibration error in
    percent (15 equal-width bins of the top-class confidence; for
    multi-label the mean over labels of each label's binary ECE, also as
    ``ece/<name>``), and ``brier``, the Brier score (not a percentage:
    ``mean (p_pos - y)^2`` in ``[0, 1]`` for a binary task, as scikit-learn's
    ``brier_score_loss``; ``mean sum_c (p_c - y_c)^2`` in ``[0, 2]`` for
    more classes; the mean squared error of the unmasked entries in
    ``[0, 1]`` for multi-label).

    :class:`MedicalMetric` adds ``ece_uncalibrated`` and
    ``brier_uncalibrated`` for a calibrated model (temperature scaling,
    :mod:`medkd.models.calibration`): the same of its raw scores.

    Multi-label keys: ``auc/<name>`` per label (``auc/<index>`` without
    ``class_names``) and ``auc_mean``; ``precision``, ``recall``, ``f1`` and
    ``specificity`` with the suffix ``_macro`` and ``_weighted`` (weighted by
    the number of unmasked positives), each computed per label on that
    label's unmasked entries with predictions ``scores >= thr``; and
    ``accuracy``, the fraction of unmasked entries predicted correctly;
    ``sensitivity_macro`` / ``_weighted`` (= recall) too, and per label
    ``sensitivity/<name>`` and ``specificity/<name>`` at ``thr``.

    Args:
        scores (np.ndarray): Probabilities, ``(N, C)`` softmax scores for
            single-label or ``(N, L)`` sigmoid scores for multi-label.
        labels (np.ndarray): ``(N, )`` class indices for single-label or
            ``(N, L)`` 0/1 targets for multi-label.
        multi_label (bool): Whether the task is multi-label.
            Defaults to False.
        mask (np.ndarray, optional): ``(N, L)`` 0/1 array for multi-label,
            0 meaning the entry is ignored (e.g. an uncertain CheXpert label).
            Defaults to None, evaluating every entry.
        thr (float): Score threshold for a positive multi-label prediction.
            Defaults to 0.5.
        class_names (Sequence[str], optional): Names of the ``C`` classes or
            ``L`` labels, used in the per-label AUC keys and warnings.
            Defaults to None, using indices.
        pos_label (int): The positive class of a binary task. Defaults
            to 1.
        decision_threshold (float, optional): Binary tasks only: the
            positive-class score from which a prediction is positive.
            Defaults to None (arg-max).

    Returns:
        Dict[str, float]: The metric values.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2 or len(scores) == 0:
        raise ValueError('compute_medical_metrics expected `scores` of shape '
                         f'(N, C) with N > 0, but found {scores.shape}.')
    num_classes = scores.shape[1]
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    elif len(class_names) != num_classes:
        raise ValueError(f'compute_medical_metrics expected {num_classes} '
                         'class names to match `scores` of shape '
                         f'{scores.shape}, but found {len(class_names)}.')
    if multi_label:
        return _multi_label_metrics(scores, labels, mask, thr,
                                    list(class_names))
    if mask is not None:
        raise ValueError('compute_medical_metrics expected `mask=None` for '
                         'single-label metrics; a mask is only supported '
                         'with `multi_label=True`.')
    if num_classes == 2 and pos_label not in (0, 1):
        raise ValueError('compute_medical_metrics expected pos_label 0 or 1 '
                         f'for a binary task, but found {pos_label}.')
    if decision_threshold is not None and num_classes != 2:
        raise ValueError('compute_medical_metrics: `decision_threshold` '
                         'applies to binary tasks only, but the scores have '
                         f'{num_classes} classes.')
    return _single_label_metrics(scores, labels, list(class_names),
                                 pos_label, decision_threshold)


def _binary_metrics(labels: np.ndarray, preds: np.ndarray,
                    pos_label: int) -> Dict[str, float]:
    """Positive-class metrics of a binary task (percent)."""
    y_true, y_pred = labels == pos_label, preds == pos_label
    tp = float(np.sum(y_true & y_pred))
    fn = float(np.sum(y_true & ~y_pred))
    fp = float(np.sum(~y_true & y_pred))
    tn = float(np.sum(~y_true & ~y_pred))
    sensitivity = safe_divide(tp, tp + fn)
    specificity = safe_divide(tn, tn + fp)
    ppv = safe_divide(tp, tp + fp)
    return dict(
        sensitivity=float(sensitivity * 100),
        specificity=float(specificity * 100),
        ppv=float(ppv * 100),
        npv=float(safe_divide(tn, tn + fn) * 100),
        balanced_accuracy=float((sensitivity + specificity) / 2 * 100),
        f1=float(safe_divide(2 * tp, 2 * tp + fp + fn) * 100))


def _single_label_metrics(
        scores: np.ndarray,
        labels: np.ndarray,
        class_names: List[str],
        pos_label: int = 1,
        decision_threshold: Optional[float] = None) -> Dict[str, float]:
    """Single-label metrics, see :func:`compute_medical_metrics`."""
    num_classes = scores.shape[1]
    if labels.shape != (len(scores), ):
        raise ValueError('compute_medical_metrics expected single-label '
                         f'`labels` of shape ({len(scores)}, ), but found '
                         f'{labels.shape}.')
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError('compute_medical_metrics expected labels in '
                         f'[0, {num_classes}), but found values in '
                         f'[{labels.min()}, {labels.max()}].')
    if decision_threshold is None:
        preds = scores.argmax(axis=1)
    else:
        preds = np.where(scores[:, pos_label] >= decision_threshold,
                         pos_label, 1 - pos_label)
    class_ids = list(range(num_classes))

    results = {'accuracy': float((preds == labels).mean() * 100)}
    for average in ('macro', 'weighted'):
        precision, recall, f1, _ = precision_recall_fscore_support(
            labels, preds, labels=class_ids, average=average, zero_division=0)
        results[f'precision_{average}'] = float(precision * 100)
        results[f'recall_{average}'] = float(recall * 100)
        results[f'sensitivity_{average}'] = float(recall * 100)
        results[f'f1_{average}'] = float(f1 * 100)

    cm = confusion_matrix(labels, preds, labels=class_ids)
    true_pos = np.diag(cm)
    false_pos = cm.sum(axis=0) - true_pos
    true_neg = cm.sum() - cm.sum(axis=1) - false_pos
    specificity = safe_divide(true_neg, true_neg + false_pos)
    support = cm.sum(axis=1)
    results['specificity_macro'] = float(specificity.mean() * 100)
    results['specificity_weighted'] = _weighted_mean(specificity,
                                                     support) * 100

    if num_classes == 2:
        results.update(_binary_metrics(labels, preds, pos_label))
        # the AUC of the positive class's score
        results['auc'] = _binary_auc(labels == pos_label,
                                     scores[:, pos_label])
        undefined = [] if np.isfinite(results['auc']) else ['binary']
    else:
        # One-vs-rest per class, identical to sklearn's
        # ``roc_auc_score(multi_class='ovr')`` when every class is present,
        # but an absent class gives NaN instead of an error.
        aucs = np.array(
            [_binary_auc(labels == c, scores[:, c]) for c in class_ids])
        defined = np.isfinite(aucs)
        results['auc'] = _nan_mean(aucs)
        results['auc_weighted'] = (_weighted_mean(aucs[defined],
                                                  support[defined])
                                   if defined.any() else float('nan'))
        undefined = [class_names[c] for c in np.flatnonzero(~defined)]
    _warn_undefined_auc(undefined)
    # Calibration of the top (arg-max) class, whatever decision threshold.
    top = scores.argmax(axis=1)
    results['ece'] = expected_calibration_error(scores.max(axis=1),
                                                top == labels) * 100
    results['brier'] = brier_score(scores, labels, pos_label=pos_label)
    if decision_threshold is not None:
        results['decision_threshold'] = float(decision_threshold)
    return results


def _multi_label_metrics(scores: np.ndarray, labels: np.ndarray,
                         mask: Optional[np.ndarray], thr: float,
                         class_names: List[str]) -> Dict[str, float]:
    """Multi-label metrics, see :func:`compute_medical_metrics`."""
    if labels.shape != scores.shape:
        raise ValueError('compute_medical_metrics expected multi-label '
                         f'`labels` of the same shape as `scores` '
                         f'{scores.shape}, but found {labels.shape}.')
    if mask is None:
        mask = np.ones(scores.shape, dtype=bool)
    else:
        mask = np.asarray(mask)
        if mask.shape != scores.shape:
            raise ValueError('compute_medical_metrics expected `mask` of the '
                             f'same shape as `scores` {scores.shape}, but '
                             f'found {mask.shape}.')
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError('compute_medical_metrics found every entry masked '
                         'out; at least one entry must be evaluated.')
    unmasked = labels[mask]
    if not np.isin(unmasked, (0, 1)).all():
        raise ValueError('compute_medical_metrics expected 0/1 multi-label '
                         'targets on the unmasked entries, but found values '
                         f'{np.unique(unmasked).tolist()}.')
    labels = np.where(mask, labels, 0).astype(np.int64)
    preds = (scores >= thr).astype(np.int64)

    per_label = {
        key: []
        for key in ('auc', 'precision', 'recall', 'f1', 'specificity')
    }
    eces = []
    positives = []
    for j in range(scores.shape[1]):
        keep = mask[:, j]
        y_true, y_pred = labels[keep, j], preds[keep, j]
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true,
            y_pred,
            labels=[1],
            average='binary',
            pos_label=1,
            zero_division=0)
        true_neg, false_pos, _, _ = confusion_matrix(y_true,
                                                     y_pred,
                                                     labels=[0, 1]).ravel()
        per_label['auc'].append(_binary_auc(y_true, scores[keep, j]))
        per_label['precision'].append(precision)
        per_label['recall'].append(recall)
        per_label['f1'].append(f1)
        per_label['specificity'].append(
            safe_divide(true_neg, true_neg + false_pos))
        positives.append(y_true.sum())
        eces.append(
            expected_calibration_error(
                *binary_confidences(scores[keep, j], y_true, thr=0.5)) * 100)

    aucs = np.array(per_label.pop('auc'))
    results = {
        f'auc/{name}': float(auc)
        for name, auc in zip(class_names, aucs)
    }
    results['auc_mean'] = _nan_mean(aucs)
    positives = np.array(positives)
    per_label['sensitivity'] = per_label['recall']
    for key, values in per_label.items():
        values = np.array(values, dtype=np.float64)
        results[f'{key}_macro'] = float(values.mean() * 100)
        results[f'{key}_weighted'] = _weighted_mean(values, positives) * 100
    for key in ('sensitivity', 'specificity'):
        for name, value in zip(class_names, per_label[key]):
            results[f'{key}/{name}'] = float(value * 100)
    results['accuracy'] = float((preds == labels)[mask].mean() * 100)
    eces = np.array(eces)
    results['ece'] = _nan_mean(eces)
    results.update(
        {f'ece/{name}': float(e)
         for name, e in zip(class_names, eces)})
    results['brier'] = brier_score(scores, labels, multi_label=True,
                                   mask=mask)
    _warn_undefined_auc(
        [class_names[j] for j in np.flatnonzero(~np.isfinite(aucs))])
    return results


def _binary_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC AUC of a binary problem, NaN when only one class is present."""
    if len(np.unique(y_true)) < 2:
        return float('nan')
    return float(roc_auc_score(y_true, y_score))


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean, 0 when all weights are 0 (as sklearn's
    ``zero_division=0``)."""
    total = np.sum(weights)
    if total == 0:
        return 0.0
    return float(np.sum(values * weights) / total)


def _nan_mean(values: np.ndarray) -> float:
    """Mean over the finite values, NaN when there is none."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float('nan')


def _warn_undefined_auc(names: List[str]) -> None:
    """Warn once about the classes whose AUC is undefined."""
    if names:
        print_log(
            'AUC is undefined (only one class present among the evaluated '
            f'entries) for {names}; it is NaN and excluded from the means.',
            logger='current',
            level=logging.WARNING)


@METRICS.register_module()
class MedicalMetric(BaseMetric):
    """AUC, sensitivity, specificity, precision, F1 and accuracy.

    A thin evaluator around :func:`compute_medical_metrics`, which lists the
    keys. Values are percentages except AUC values, which are in ``[0, 1]``.

    Examples:
        >>> import torch
        >>> from mmengine.evaluator import Evaluator
        >>> from mmpretrain.structures import DataSample
        >>> samples = [
        ...     DataSample().set_gt_label(0).set_pred_score(
        ...         torch.tensor([0.7, 0.3])).to_dict(),
        ...     DataSample().set_gt_label(1).set_pred_score(
        ...         torch.tensor([0.4, 0.6])).to_dict()]
        >>> evaluator = Evaluator(MedicalMetric(prefix='student'))
        >>> evaluator.process(samples)
        >>> evaluator.evaluate(2)['student/auc']
        1.0

    Args:
        multi_label (bool): Whether the task is multi-label. Defaults to
            False.
        thr (float): Score threshold for a positive multi-label prediction.
            Defaults to 0.5.
        score_field (str): The data-sample field holding the ``(C, )``
            probabilities to evaluate, e.g. ``'pred_score_swin'`` for the
            scores a distiller stores for a teacher. Defaults to
            ``'pred_score'``.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names, e.g.
            ``'teacher_swin'``. Defaults to None, using ``'medical'``.
        pos_label (int): Positive class of a binary task (sensitivity,
            PPV, ... are the positive class's). Defaults to 1.
        decision_threshold (float, optional): Binary tasks: predict the
            positive class when its score is at least this (e.g. the Youden
            threshold found on val, see ``tools/test.py
            --youden-threshold``); reported as ``decision_threshold``.
            Defaults to None (arg-max).
        youden (bool): Binary tasks: also report ``youden_threshold``, the
            positive-class score threshold maximising sensitivity +
            specificity on the evaluated samples. Choose it on val, never on
            test. Defaults to False.
        ci (bool): Add percentile-bootstrap confidence intervals
            ``<metric>_ci_low`` / ``<metric>_ci_high`` of accuracy, weighted
            F1, sensitivity, specificity and AUC (see
            :func:`~medkd.evaluation.statistics.bootstrap_ci`). When every
            data sample carries a ``patient_id`` (C-NMC, CheXpert, the
            Kather slide, the multimodal donor) the bootstrap resamples
            patients (cluster bootstrap), else images; ``ci_patients`` says
            which: the number of patients resampled, 0 for images.
            Defaults to False.
        n_bootstrap (int): Resamples of the CIs. Defaults to 1000.
        ci_level (float): Confidence level of the CIs. Defaults to 0.95.
        seed (int): Seed of the resampling. Defaults to 0.
    """
    default_prefix: Optional[str] = 'medical'

    def __init__(self,
                 multi_label: bool = False,
                 thr: float = 0.5,
                 score_field: str = 'pred_score',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 pos_label: int = 1,
                 decision_threshold: Optional[float] = None,
                 youden: bool = False,
                 ci: bool = False,
                 n_bootstrap: int = 1000,
                 ci_level: float = 0.95,
                 seed: int = 0) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if (youden or decision_threshold is not None) and multi_label:
            raise ValueError(
                'MedicalMetric: `youden` / `decision_threshold` apply to '
                'binary single-label tasks; multi-label tasks use `thr`.')
        if not 0 < ci_level < 1:
            raise ValueError(
                f'MedicalMetric: `ci_level` must be in (0, 1), got {ci_level}.')
        self.pos_label = pos_label
        self.decision_threshold = decision_threshold
        self.youden = youden
        self.ci = ci
        self.n_bootstrap = n_bootstrap
        self.ci_level = ci_level
        self.seed = seed
        self.multi_label = multi_label
        self.thr = thr
        self.score_field = score_field

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the scores, targets and masks of one batch.

        Args:
            data_batch: A batch of data from the dataloader (unused).
            data_samples (Sequence[dict]): A batch of model outputs, each
                with ``score_field``, ``gt_label`` (or, for multi-label,
                ``gt_score``) and optionally ``gt_label_mask``.
        """
        for data_sample in data_samples:
            if self.score_field not in data_sample:
                raise KeyError(
                    f'MedicalMetric expected the score field '
                    f'{self.score_field!r} (its `score_field` argument) in '
                    'each data sample, but found only the keys '
                    f'{sorted(data_sample.keys())}.')
            score = data_sample[self.score_field].detach().float().cpu()
            result = {'pred_score': score,
                      'patient_id': data_sample.get('patient_id')}
            if self.score_field == 'pred_score' and \
                    UNCALIBRATED_FIELD in data_sample:
                result[UNCALIBRATED_FIELD] = data_sample[
                    UNCALIBRATED_FIELD].detach().float().cpu()
            if not self.multi_label:
                result['gt_label'] = int(
                    data_sample['gt_label'].reshape(-1)[0])
            else:
                if 'gt_score' in data_sample:
                    gt = data_sample['gt_score'].detach().cpu()
                else:
                    gt = label_to_onehot(data_sample['gt_label'].cpu(),
                                         len(score))
                result['gt_score'] = gt.long()
                mask = data_sample.get('gt_label_mask')
                result['mask'] = (torch.ones_like(gt, dtype=torch.bool) if mask
                                  is None else mask.detach().cpu().bool())
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the metrics from the processed results.

        Args:
            results (List[dict]): The results of all batches, from
                :meth:`process`.

        Returns:
            Dict[str, float]: The metrics, see :func:`compute_medical_metrics`.
        """
        scores = torch.stack([r['pred_score'] for r in results]).numpy()
        if self.multi_label:
            labels = torch.stack([r['gt_score'] for r in results]).numpy()
            mask = torch.stack([r['mask'] for r in results]).numpy()
        else:
            labels = np.array([r['gt_label'] for r in results])
            mask = None
        class_names = (self.dataset_meta or {}).get('classes')
        metrics = compute_medical_metrics(scores,
                                          labels,
                                          multi_label=self.multi_label,
                                          mask=mask,
                                          thr=self.thr,
                                          class_names=class_names,
                                          pos_label=self.pos_label,
                                          decision_threshold=self.
                                          decision_threshold)
        if all(UNCALIBRATED_FIELD in r for r in results):
            # a calibrated model: its raw scores' calibration, for comparison
            raw = compute_medical_metrics(
                torch.stack([r[UNCALIBRATED_FIELD] for r in results]).numpy(),
                labels, multi_label=self.multi_label, mask=mask,
                thr=self.thr, class_names=class_names,
                pos_label=self.pos_label)
            metrics['ece_uncalibrated'] = raw['ece']
            metrics['brier_uncalibrated'] = raw['brier']
        binary = not self.multi_label and scores.shape[1] == 2
        if (self.youden or self.decision_threshold is not None) and not binary:
            raise ValueError(
                'MedicalMetric: `youden` / `decision_threshold` need a binary '
                f'task, but the scores have {scores.shape[1]} classes.')
        if self.youden:
            metrics['youden_threshold'] = youden_threshold(
                labels == self.pos_label, scores[:, self.pos_label])
        if self.ci:
            groups = resampling_groups([r.get('patient_id') for r in results])
            metrics.update(
                bootstrap_ci(
                    scores,
                    labels,
                    multi_label=self.multi_label,
                    mask=mask,
                    n_bootstrap=self.n_bootstrap,
                    seed=self.seed,
                    level=self.ci_level,
                    groups=groups,
                    thr=self.thr,
                    pos_label=self.pos_label,
                    decision_threshold=self.decision_threshold))
            # the CIs' unit: patients resampled (0: images resampled)
            metrics['ci_patients'] = float(
                len(set(groups)) if groups is not None else 0)
        return {key: float(value) for key, value in metrics.items()}
