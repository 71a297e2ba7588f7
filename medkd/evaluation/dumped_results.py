"""Reading the predictions dumped by ``tools/test.py --out``.

Shared by the offline analysis tools (confusion matrix, metrics report):
:func:`load_predictions` turns the per-sample dicts written by mmengine's
``DumpResults`` into the ``(scores, labels)`` arrays that
:func:`~medkd.evaluation.metrics.medical_metric.compute_medical_metrics`
takes, and :func:`config_class_names` finds the class names of a config's
test dataset.
"""
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence, Union

import mmengine
import numpy as np

from medkd.registry import DATASETS
from medkd.utils.safe_pickle import safe_pickle_load

__all__ = [
    'PredictionArrays', 'load_results', 'load_predictions',
    'config_class_names', 'class_name_list', 'gate_weight_summary', 'ALL_ROW'
]

#: The label of the row over all samples (not a class name: C-NMC has a
#: class called ``all``).
ALL_ROW = '(all samples)'


def gate_weight_summary(results, num_classes=None):
    """Per-class mean gate weights.

    Args:
        results (list[dict]): Dumped predictions, each with ``gate_weights``
            (K,) and ``gt_label``.
        num_classes (int, optional): Number of classes; defaults to the
            largest label + 1.

    Returns:
        tuple: ``(means, counts)``: ``(num_classes + 1, K)`` mean weights
        (last row: all samples) and ``(num_classes + 1,)`` sample counts.
    """
    if not results or 'gate_weights' not in results[0]:
        raise KeyError('the results have no "gate_weights": were they '
                       'dumped by tools/test.py --out from a '
                       'GatedMultiTeacher config?')
    weights = np.stack([np.asarray(r['gate_weights']) for r in results])
    labels = np.array([int(np.asarray(r['gt_label']).reshape(-1)[0])
                       for r in results])
    num_classes = num_classes or int(labels.max()) + 1
    means = np.zeros((num_classes + 1, weights.shape[1]))
    counts = np.zeros(num_classes + 1, dtype=int)
    for c in range(num_classes):
        counts[c] = (labels == c).sum()
        if counts[c]:
            means[c] = weights[labels == c].mean(0)
    means[-1], counts[-1] = weights.mean(0), len(weights)
    return means, counts


def load_results(path: str) -> list:
    """Read a ``tools/test.py --out`` dump without running code from it.

    ``.pkl`` / ``.pickle`` files go through
    :func:`~medkd.utils.safe_pickle.safe_pickle_load` (tensors, numpy arrays,
    plain containers, strings and numbers only; anything else raises
    :class:`~medkd.utils.safe_pickle.UnsafeFileError`), ``.json`` files
    through mmengine.

    Args:
        path (str): The dump.

    Returns:
        list[dict]: One dict per sample.
    """
    ext = osp.splitext(path)[1].lower()
    if ext in ('.pkl', '.pickle'):
        results = safe_pickle_load(path)
    elif ext == '.json':
        results = mmengine.load(path)
    else:
        raise ValueError(f'{path}: expected a .pkl or .json dump written by '
                         f'tools/test.py --out, found a "{ext}" file')
    if not isinstance(results, (list, tuple)) or not all(
            isinstance(r, dict) for r in results):
        raise ValueError(f'{path} is not a list of per-sample dicts (found '
                         f'{type(results).__name__}): was it written by '
                         'tools/test.py --out?')
    return list(results)


class PredictionArrays(NamedTuple):
    """The arrays of a dump.

    Attributes:
        scores (np.ndarray): ``(N, C)`` probabilities.
        labels (np.ndarray): ``(N, )`` class indices, or ``(N, C)`` 0/1
            targets when ``multi_label``.
        mask (np.ndarray | None): ``(N, C)`` 0/1, 0 for an ignored entry.
        multi_label (bool): Whether the task is multi-label.
    """
    scores: np.ndarray
    labels: np.ndarray
    mask: Optional[np.ndarray]
    multi_label: bool


def load_predictions(results: Union[str, Sequence[dict]],
                     score_field: str = 'pred_score',
                     multi_label: Optional[bool] = None) -> PredictionArrays:
    """Stack a dump's scores and ground truths.

    Args:
        results (str | Sequence[dict]): Path of the ``.pkl`` written by
            ``tools/test.py --out``, or its loaded list of dicts (each with
            ``score_field`` and ``gt_label``, optionally ``gt_score`` and
            ``gt_label_mask``).
        score_field (str): The field holding the ``(C, )`` probabilities,
            e.g. ``'pred_score_<teacher>'`` for a teacher's scores stored by
            a distiller with ``eval_teachers=True``. Defaults to
            ``'pred_score'``.
        multi_label (bool, optional): Whether the task is multi-label.
            Defaults to None: multi-label when the samples carry
            ``gt_score`` or a ``gt_label`` with other than one index.

    Returns:
        PredictionArrays: ``scores``, ``labels``, ``mask`` and
        ``multi_label``.
    """
    source = results if isinstance(results, str) else 'the results'
    if isinstance(results, str):
        results = load_results(results)
    if not results:
        raise ValueError(f'{source} holds no predictions')
    if score_field not in results[0]:
        raise KeyError(f'{source} has no {score_field!r} per sample (keys: '
                       f'{sorted(results[0])}): was it written by '
                       'tools/test.py --out?')
    scores = np.stack([_numpy(r[score_field]) for r in results]).astype(
        np.float64)
    gt_labels = [_numpy(r['gt_label']).reshape(-1) for r in results]
    if multi_label is None:
        multi_label = ('gt_score' in results[0]
                       or any(len(g) != 1 for g in gt_labels))
    mask = None
    if not multi_label:
        labels = np.array([int(g[0]) for g in gt_labels])
    elif 'gt_score' in results[0]:
        labels = np.stack([_numpy(r['gt_score']) for r in results])
    else:
        labels = np.zeros(scores.shape, dtype=np.int64)
        for row, indices in zip(labels, gt_labels):
            row[indices.astype(np.int64)] = 1
    if multi_label and 'gt_label_mask' in results[0]:
        mask = np.stack([_numpy(r['gt_label_mask']) for r in results])
    return PredictionArrays(
        scores=scores, labels=labels, mask=mask, multi_label=multi_label)


def config_class_names(cfg) -> Optional[List[str]]:
    """Class names of a config's test (else val) dataset, if known.

    Looks at the dataset config's ``metainfo.classes``, then at the
    ``metainfo`` of the dataset built with ``lazy_init=True`` (no data is
    read), then at the dataset class's ``METAINFO``.

    Args:
        cfg (Config): A full medkd config.

    Returns:
        list[str] | None: The names, or None when none is found.
    """
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = dict(loader.get('dataset') or {})
    metainfo = dataset.get('metainfo')
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if classes is None and 'type' in dataset:
        try:
            built = DATASETS.build(dict(dataset, lazy_init=True))
            classes = built.metainfo.get('classes')
        except (KeyError, TypeError, ValueError, OSError):
            # the dataset cannot be built here (e.g. its data is elsewhere)
            dataset_cls = DATASETS.get(dataset['type'])
            classes = getattr(dataset_cls, 'METAINFO', {}).get('classes')
    return list(classes) if classes is not None else None


def class_name_list(names: Optional[Sequence[str]],
                    num_classes: int) -> List[str]:
    """``names`` checked against ``num_classes``, or ``['0', '1', ...]``."""
    if names is None:
        return [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f'{len(names)} class names {list(names)} given for '
                         f'scores with {num_classes} classes')
    return list(names)


def _numpy(value) -> np.ndarray:
    """A tensor, array, list or number as a numpy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
