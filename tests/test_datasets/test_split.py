"""Tests for medkd.datasets.split: seeded stratified (grouped) splits."""
import numpy as np
import pytest

from medkd.datasets.split import stratified_kfold, stratified_split

# 150 samples: class 0 is 2/3 of them (like C-NMC's all/hem imbalance).
LABELS = np.array([0] * 100 + [1] * 50)
# 30 groups of 5 samples, each group all one class (one patient, one label).
GROUPS = np.repeat(np.arange(30), 5)


def assert_partition(parts, num_samples):
    joined = np.concatenate(parts)
    assert len(joined) == num_samples
    assert np.array_equal(np.sort(joined), np.arange(num_samples))
    for part in parts:
        assert np.array_equal(part, np.sort(part))


def class1_fraction(indices):
    return LABELS[indices].mean()


def test_split_sizes_cover_and_stratify():
    parts = stratified_split(LABELS, (0.7, 0.15, 0.15), seed=0)
    assert_partition(parts, len(LABELS))
    assert [len(p) for p in parts] == [105, 23, 22]
    for part in parts:
        assert abs(class1_fraction(part) - 1 / 3) < 0.03


def test_split_deterministic_per_seed_and_differs_across_seeds():
    first = stratified_split(LABELS, (0.7, 0.15, 0.15), seed=3)
    again = stratified_split(LABELS, (0.7, 0.15, 0.15), seed=3)
    other = stratified_split(LABELS, (0.7, 0.15, 0.15), seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], other[1])


def test_split_zero_ratio_gives_empty_part():
    parts = stratified_split(LABELS, (0.8, 0.0, 0.2), seed=0)
    assert_partition(parts, len(LABELS))
    assert len(parts[1]) == 0 and len(parts[2]) == 30
    train, rest = stratified_split(LABELS, (1.0, 0.0), seed=0)
    assert len(train) == len(LABELS) and len(rest) == 0


@pytest.mark.parametrize('ratios', [(0.7, 0.2), (0.7, -0.1, 0.4)])
def test_split_rejects_bad_ratios(ratios):
    with pytest.raises(ValueError, match='ratios'):
        stratified_split(LABELS, ratios)


def test_grouped_split_keeps_groups_whole_and_stratifies():
    parts = stratified_split(LABELS, (0.7, 0.15, 0.15), seed=0, groups=GROUPS)
    assert_partition(parts, len(LABELS))
    group_sets = [set(GROUPS[p]) for p in parts]
    assert not group_sets[0] & group_sets[1]
    assert not group_sets[0] & group_sets[2]
    assert not group_sets[1] & group_sets[2]
    # 5-sample groups: each part's size and class-1 count is within one
    # group of its target.
    for part, ratio in zip(parts, (0.7, 0.15, 0.15)):
        assert abs(len(part) - ratio * 150) <= 5
        assert abs(LABELS[part].sum() - ratio * 50) <= 5


def test_grouped_split_deterministic_per_seed_and_differs_across_seeds():
    first = stratified_split(LABELS, (0.7, 0.15, 0.15), 1, groups=GROUPS)
    again = stratified_split(LABELS, (0.7, 0.15, 0.15), 1, groups=GROUPS)
    other = stratified_split(LABELS, (0.7, 0.15, 0.15), 2, groups=GROUPS)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_grouped_split_errors():
    with pytest.raises(ValueError, match='groups.*shape'):
        stratified_split(LABELS, (0.5, 0.5), groups=GROUPS[:10])
    with pytest.raises(ValueError, match='received no group'):
        stratified_split([0, 1, 0, 1], (0.4, 0.3, 0.3), groups=[0, 0, 1, 1])


def test_kfold_covers_each_sample_once_and_stratifies():
    val_union = []
    for fold in range(5):
        train, val = stratified_kfold(LABELS, 5, fold, seed=0)
        assert not set(train) & set(val)
        assert len(train) + len(val) == len(LABELS)
        assert len(val) == 30 and LABELS[val].sum() == 10
        val_union.append(val)
    assert_partition(val_union, len(LABELS))
    assert np.array_equal(
        stratified_kfold(LABELS, 5, 2, seed=0)[1],
        stratified_kfold(LABELS, 5, 2, seed=0)[1])
    assert not np.array_equal(
        stratified_kfold(LABELS, 5, 2, seed=0)[1],
        stratified_kfold(LABELS, 5, 2, seed=1)[1])


def test_grouped_kfold_keeps_groups_whole():
    val_union = []
    for fold in range(3):
        train, val = stratified_kfold(LABELS, 3, fold, seed=0, groups=GROUPS)
        assert not set(GROUPS[train]) & set(GROUPS[val])
        val_union.append(val)
    assert_partition(val_union, len(LABELS))


@pytest.mark.parametrize('num_folds,fold,match', [(5, 5, 'fold'),
                                                  (5, -1, 'fold'),
                                                  (1, 0, 'num_folds')])
def test_kfold_rejects_bad_fold(num_folds, fold, match):
    with pytest.raises(ValueError, match=match):
        stratified_kfold(LABELS, num_folds, fold)
