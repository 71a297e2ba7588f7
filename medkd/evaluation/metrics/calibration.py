"""Calibration: expected calibration error, Brier score, reliability bins.

A model is calibrated when, among the samples it scores with confidence
``p``, a fraction ``p`` is right. Distillation changes calibration (soft
targets usually reduce over-confidence), so medkd reports it for every head.
"""
from typing import NamedTuple, Optional

import numpy as np

__all__ = [
    'UNCALIBRATED_FIELD', 'ReliabilityBins', 'reliability_bins', 'expected_calibration_error',
    'brier_score', 'binary_confidences'
]

#: The data-sample field in which a calibrated model (temperature scaling,
#: :mod:`medkd.models.calibration`) keeps its raw scores.
UNCALIBRATED_FIELD = 'pred_score_uncalibrated'

#: Equal-width confidence bins of the ECE (Guo et al., 2017).
NUM_BINS = 15


class ReliabilityBins(NamedTuple):
    """Per-bin statistics of a reliability diagram.

    Attributes:
        edges (np.ndarray): ``(B + 1, )`` bin edges in ``[0, 1]``.
        count (np.ndarray): ``(B, )`` samples per bin.
        confidence (np.ndarray): ``(B, )`` mean confidence per bin (NaN for
            an empty bin).
        accuracy (np.ndarray): ``(B, )`` fraction correct per bin (NaN for an
            empty bin).
    """
    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def reliability_bins(confidence: np.ndarray,
                     correct: np.ndarray,
                     num_bins: int = NUM_BINS) -> ReliabilityBins:
    """Bin predictions by confidence.

    Bin ``b`` holds the confidences in ``(b / B, (b + 1) / B]``; a confidence
    of exactly 0 goes to the first bin.

    Args:
        confidence (np.ndarray): ``(N, )`` confidence of each prediction.
        correct (np.ndarray): ``(N, )`` whether each prediction is right.
        num_bins (int): Number of equal-width bins. Defaults to 15.

    Returns:
        ReliabilityBins: The bins.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.clip(np.ceil(confidence * num_bins).astype(int) - 1, 0,
                    num_bins - 1)
    count = np.bincount(index, minlength=num_bins).astype(np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        mean_conf = np.bincount(
            index, weights=confidence, minlength=num_bins) / count
        accuracy = np.bincount(
            index, weights=correct, minlength=num_bins) / count
    return ReliabilityBins(edges, count.astype(int), mean_conf, accuracy)


def expected_calibration_error(confidence: np.ndarray,
                               correct: np.ndarray,
                               num_bins: int = NUM_BINS) -> float:
    """``sum_b (n_b / N) |accuracy_b - confidence_b|`` over equal-width
    confidence bins (see :func:`reliability_bins`), in ``[0, 1]``."""
    bins = reliability_bins(confidence, correct, num_bins)
    filled = bins.count > 0
    if not filled.any():
        return float('nan')
    weights = bins.count[filled] / bins.count.sum()
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float(np.sum(weights * gaps))


def binary_confidences(prob: np.ndarray, target: np.ndarray,
                       thr: float = 0.5):
    """Confidence and correctness of one binary (e.g. multi-label) output:
    the prediction is ``prob >= thr``, its confidence ``prob`` or
    ``1 - prob``."""
    prob = np.asarray(prob, dtype=np.float64)
    pred = prob >= thr
    return np.where(pred, prob, 1 - prob), pred == np.asarray(target, bool)


def brier_score(scores: np.ndarray,
                labels: np.ndarray,
                multi_label: bool = False,
                mask: Optional[np.ndarray] = None,
                pos_label: int = 1) -> float:
    """Brier score (lower is better).

    Binary (two-class softmax): ``mean_i (p_i,pos - y_i)^2`` with ``y_i = 1``
    for the positive class, in ``[0, 1]`` (scikit-learn's
    ``brier_score_loss``, the form medical papers report). More classes:
    ``mean_i sum_c (p_ic - y_ic)^2`` with one-hot ``y`` (Brier's original
    multi-class form, in ``[0, 2]``). Multi-label: the mean of
    ``(p_il - y_il)^2`` over the unmasked entries, in ``[0, 1]``.

    Args:
        scores (np.ndarray): ``(N, C)`` probabilities.
        labels (np.ndarray): ``(N, )`` class indices, or ``(N, L)`` 0/1
            targets when ``multi_label``.
        multi_label (bool): Whether the task is multi-label.
        mask (np.ndarray, optional): ``(N, L)``, 0 for an ignored entry.
        pos_label (int): The positive class of a binary task. Defaults
            to 1.

    Returns:
        float: The score.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if multi_label:
        errors = (scores - np.asarray(labels, np.float64))**2
        keep = (np.ones(scores.shape, bool)
                if mask is None else np.asarray(mask).astype(bool))
        return float(errors[keep].mean())
    labels = np.asarray(labels, np.int64)
    if scores.shape[1] == 2:
        return float(((scores[:, pos_label] -
                       (labels == pos_label))**2).mean())
    onehot = np.eye(scores.shape[1])[labels]
    return float(((scores - onehot)**2).sum(1).mean())
