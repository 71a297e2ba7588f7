"""The figures of the analysis tools and of the distillation report.

Each function draws one PNG with matplotlib's ``Agg`` backend (no display
needed) and closes its figure.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from medkd.evaluation.metrics.calibration import (  # noqa: E402
    expected_calibration_error, reliability_bins)


def row_normalise(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum, in percent (0 for an empty row)."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts * 100.0, totals, out=np.zeros(counts.shape),
                     where=totals > 0)


def _save(fig, path: str) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def confusion_png(counts: np.ndarray, names: Sequence[str], path: str,
                  title: str = '') -> None:
    """Counts and row-normalised percentages as two heat maps."""
    percent = row_normalise(counts)
    side = 1.5 + 0.6 * len(names)
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1, side))
    for ax, matrix, fmt, label in ((axes[0], counts, '{:d}', 'counts'),
                                   (axes[1], percent, '{:.1f}',
                                    'row-normalised (%)')):
        ax.imshow(percent, cmap='Blues', vmin=0, vmax=100)
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, fmt.format(value), ha='center', va='center',
                    color='white' if percent[i, j] > 50 else 'black')
        ticks = np.arange(len(names))
        ax.set_xticks(ticks, names, rotation=45, ha='right')
        ax.set_yticks(ticks, names)
        ax.set_xlabel('predicted')
        ax.set_ylabel('true')
        ax.set_title(f'{title} {label}'.strip())
    _save(fig, path)


def reliability_png(curves: Dict[str, Tuple[np.ndarray, np.ndarray]],
                    path: str,
                    num_bins: int,
                    raw_curves: Optional[Dict[str, Tuple[np.ndarray,
                                                         np.ndarray]]] = None
                    ) -> Dict[str, dict]:
    """Fraction correct against mean confidence per bin, one line per model;
    with ``raw_curves`` two panels: before (raw scores) and after
    calibration.

    Args:
        curves (dict): ``{name: (confidence, correct)}``.
        path (str): The PNG.
        num_bins (int): Equal-width bins.
        raw_curves (dict, optional): The same of the uncalibrated scores.

    Returns:
        dict: ``{name: {'ece': percent, 'bins': ReliabilityBins}}`` of
        ``curves``.
    """
    panels = [('after calibration', curves)]
    if raw_curves is not None:
        panels.insert(0, ('raw scores', raw_curves))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5),
                             squeeze=False)
    drawn = {}
    for ax, (title, panel) in zip(axes[0], panels):
        ax.plot([0, 1], [0, 1], 'k--', linewidth=1, label='calibrated')
        for name, (conf, correct) in panel.items():
            bins = reliability_bins(conf, correct, num_bins)
            ece = expected_calibration_error(conf, correct, num_bins) * 100
            filled = bins.count > 0
            ax.plot(bins.confidence[filled], bins.accuracy[filled], 'o-',
                    label=f'{name} (ECE {ece:.2f}%)')
            if panel is curves:
                drawn[name] = dict(ece=ece, bins=bins)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel('confidence')
        ax.set_ylabel('fraction correct')
        ax.set_title('Reliability diagram' +
                     (f': {title}' if raw_curves is not None else ''))
        ax.legend(loc='upper left', fontsize='small')
    _save(fig, path)
    return drawn


def roc_png(scores: np.ndarray, labels: np.ndarray, names: Sequence[str],
            path: str, multi_label: bool = False,
            mask: Optional[np.ndarray] = None, title: str = '') -> None:
    """One-vs-rest ROC curve per class (per label for multi-label results;
    the positive class only for two classes), with each curve's AUC."""
    num_classes = scores.shape[1]
    if multi_label:
        targets = labels
    else:
        targets = np.eye(num_classes, dtype=int)[labels]
    keep = np.ones(scores.shape, bool) if mask is None else mask.astype(bool)
    classes = [1] if num_classes == 2 and not multi_label else range(
        num_classes)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], 'k--', linewidth=1)
    for c in classes:
        y, s = targets[keep[:, c], c], scores[keep[:, c], c]
        if len(np.unique(y)) < 2:
            continue  # undefined: one class only among these samples
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f'{names[c]} (AUC {roc_auc_score(y, s):.3f})')
    ax.set_xlabel('1 - specificity')
    ax.set_ylabel('sensitivity')
    ax.set_title(f'ROC {title}'.strip())
    ax.legend(loc='lower right', fontsize='small')
    _save(fig, path)


def training_curves_png(train: List[dict], val: List[dict], path: str,
                        val_key: str = 'medical/accuracy',
                        title: str = '') -> None:
    """The ``loss*`` terms per iteration and ``val_key`` per epoch.

    Args:
        train (list[dict]): mmengine's training scalars (``step`` is the
            iteration), e.g. ``loss``, ``loss_cls``, ``loss_kd``.
        val (list[dict]): The validation scalars (``step`` is the epoch).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    terms = sorted({k for r in train for k in r if k.startswith('loss')})
    for term in terms:
        points = [(r['step'], r[term]) for r in train if term in r]
        left.plot(*zip(*points), label=term)
    left.set_xlabel('iteration')
    left.set_ylabel('loss')
    if terms:
        left.legend(fontsize='small')
    left.set_title(f'{title} training losses'.strip())
    points = [(r['step'], r[val_key]) for r in val if val_key in r]
    if points:
        right.plot(*zip(*points), 'o-')
    right.set_xlabel('epoch')
    right.set_ylabel(f'val {val_key}')
    right.set_title('validation')
    _save(fig, path)


def gate_weights_png(means: np.ndarray, row_names: Sequence[str],
                     teachers: Sequence[str], path: str) -> None:
    """Mean gate weight per teacher, one group of bars per row (class)."""
    x = np.arange(len(row_names))
    width = 0.8 / len(teachers)
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(row_names), 3.5))
    for k, teacher in enumerate(teachers):
        ax.bar(x + k * width, means[:, k], width, label=teacher)
    ax.set_xticks(x + width * (len(teachers) - 1) / 2, row_names)
    ax.set_ylabel('mean gate weight')
    ax.set_ylim(0, 1)
    ax.legend()
    _save(fig, path)
