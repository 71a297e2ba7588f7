"""Seeded stratified splits shared by medkd's datasets.

Both helpers work on sample indices, so a dataset builds its full list of
samples once and keeps the entries whose indices fall in the wanted split.
Passing ``groups`` (one id per sample, e.g. the patient) keeps every group
inside a single split.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from sklearn.model_selection import (StratifiedGroupKFold, StratifiedKFold,
                                     train_test_split)


def stratified_split(labels: Sequence,
                     ratios: Sequence[float],
                     seed: int = 0,
                     groups: Optional[Sequence] = None) -> List[np.ndarray]:
    """Split sample indices into parts with given ratios, per class.

    Without ``groups`` the parts are cut one after another with
    :func:`sklearn.model_selection.train_test_split` (``stratify=labels``);
    part sizes are the rounded cumulative ratios times N.
    With ``groups`` whole groups are dealt out in a seeded random order, each
    to the part that still lacks the most samples of the group's classes, so
    the class ratios of every part approach the targets as closely as the
    group sizes allow.

    Args:
        labels (Sequence): Class label of every sample, shape ``(N, )``.
        ratios (Sequence[float]): Fraction of the samples in each part, e.g.
            ``(0.7, 0.15, 0.15)``. Non-negative, summing to 1; a part with
            ratio 0 is empty.
        seed (int): Random seed; the same seed gives the same parts.
            Defaults to 0.
        groups (Sequence, optional): Group id of every sample, shape
            ``(N, )``. No group is shared by two parts. Defaults to None.

    Returns:
        list[np.ndarray]: One sorted index array per ratio; together they
        hold every index in ``range(N)`` exactly once.
    """
    labels = np.asarray(labels)
    ratios = np.asarray(ratios, dtype=float)
    if ratios.ndim != 1 or (ratios
                            < 0).any() or not np.isclose(ratios.sum(), 1.0):
        raise ValueError('`ratios` must be non-negative fractions summing to '
                         f'1, but got {tuple(ratios.tolist())}.')
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != labels.shape:
            raise ValueError(f'`groups` has shape {groups.shape} but '
                             f'`labels` has shape {labels.shape}; expected '
                             'one group id per sample.')
        return _grouped_split(labels, ratios, seed, groups)

    # Part sizes from rounded cumulative ratios, so they add up to N.
    sizes = np.diff(np.round(np.cumsum(ratios) * len(labels)), prepend=0)
    parts = []
    remaining = np.arange(len(labels))
    for size in sizes[:-1].astype(int):
        if size == 0:
            taken = np.array([], dtype=int)
        elif size == len(remaining):
            taken, remaining = remaining, np.array([], dtype=int)
        else:
            num_classes = len(np.unique(labels[remaining]))
            if min(size, len(remaining) - size) < num_classes:
                raise ValueError(
                    f'A stratified split of {len(remaining)} samples into '
                    f'{size} + {len(remaining) - size} cannot give each part '
                    f'one sample of each of the {num_classes} classes; '
                    f'ratios {tuple(ratios.tolist())} are too small for '
                    f'{len(labels)} samples.')
            taken, remaining = train_test_split(
                remaining,
                train_size=size,
                stratify=labels[remaining],
                random_state=seed)
        parts.append(np.sort(taken))
    parts.append(np.sort(remaining))
    return parts


def _grouped_split(labels: np.ndarray, ratios: np.ndarray, seed: int,
                   groups: np.ndarray) -> List[np.ndarray]:
    """Deal whole groups out to the parts; see :func:`stratified_split`."""
    group_ids, group_of_sample = np.unique(groups, return_inverse=True)
    _, class_of_sample = np.unique(labels, return_inverse=True)
    group_counts = np.zeros((len(group_ids), class_of_sample.max() + 1))
    np.add.at(group_counts, (group_of_sample, class_of_sample), 1)

    # (num_parts, num_classes) sample counts each part should end up with.
    targets = np.outer(ratios, group_counts.sum(0))
    filled = np.zeros_like(targets)
    part_of_group = np.empty(len(group_ids), dtype=int)
    rng = np.random.default_rng(seed)
    for group in rng.permutation(len(group_ids)):
        lack = (targets - filled) @ group_counts[group]
        lack[ratios == 0] = -np.inf
        part = int(np.argmax(lack))
        part_of_group[group] = part
        filled[part] += group_counts[group]

    parts = [
        np.flatnonzero(part_of_group[group_of_sample] == part)
        for part in range(len(ratios))
    ]
    for part, (ratio, indices) in enumerate(zip(ratios, parts)):
        if ratio > 0 and len(indices) == 0:
            raise ValueError(
                f'Part {part} (ratio {ratio:g}) received no group: '
                f'{len(group_ids)} groups are too few for ratios '
                f'{tuple(ratios.tolist())}.')
    return parts


def stratified_kfold(
        labels: Sequence,
        num_folds: int,
        fold: int,
        seed: int = 0,
        groups: Optional[Sequence] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Pick one fold of a seeded stratified k-fold cross-validation.

    Uses :class:`sklearn.model_selection.StratifiedKFold`, or
    :class:`sklearn.model_selection.StratifiedGroupKFold` when ``groups`` is
    given, both with ``shuffle=True``.

    Args:
        labels (Sequence): Class label of every sample, shape ``(N, )``.
        num_folds (int): Number of folds, at least 2.
        fold (int): Which fold is held out, in ``[0, num_folds)``.
        seed (int): Random seed; the same seed gives the same folds.
            Defaults to 0.
        groups (Sequence, optional): Group id of every sample, shape
            ``(N, )``. No group is shared by the two parts. Defaults to None.

    Returns:
        tuple[np.ndarray, np.ndarray]: Sorted ``(train_indices,
        val_indices)``; over all folds the validation indices cover every
        sample exactly once.
    """
    if num_folds < 2:
        raise ValueError(f'`num_folds` must be at least 2, got {num_folds}.')
    if not 0 <= fold < num_folds:
        raise ValueError(f'`fold` must be in [0, {num_folds}), got {fold}.')
    labels = np.asarray(labels)
    if groups is None:
        splitter = StratifiedKFold(num_folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedGroupKFold(
            num_folds, shuffle=True, random_state=seed)
    train, val = list(splitter.split(np.zeros(len(labels)), labels,
                                     groups))[fold]
    return np.sort(train), np.sort(val)
