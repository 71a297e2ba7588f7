import os.path as osp
from collections import Counter
from unittest import mock

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from medkd.datasets.samplers import ClassBalancedSampler
from medkd.registry import DATA_SAMPLERS


class _Labels:
    """A dataset stand-in: ``get_cat_ids`` of given labels."""

    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def get_cat_ids(self, idx):
        label = self.labels[idx]
        return list(label) if isinstance(label, (list, tuple)) else [label]


# 90 / 9 / 1 images: very imbalanced, like Pneumonia / Normal / Covid.
IMBALANCED = _Labels([0] * 90 + [1] * 9 + [2] * 1)


def test_classes_are_drawn_equally_often():
    sampler = DATA_SAMPLERS.build(
        dict(type='ClassBalancedSampler', num_samples=30000),
        default_args=dict(dataset=IMBALANCED, seed=0))
    indices = list(sampler)
    assert len(indices) == len(sampler) == 30000
    counts = Counter(IMBALANCED.labels[i] for i in indices)
    for c in range(3):
        assert counts[c] / 30000 == pytest.approx(1 / 3, abs=0.015)
    # Within a class, samples are drawn uniformly.
    per_sample = Counter(i for i in indices if IMBALANCED.labels[i] == 0)
    assert len(per_sample) == 90
    np.testing.assert_allclose(
        sampler.weights.numpy(),
        [1 / 90] * 90 + [1 / 9] * 9 + [1.0])


def test_epochs_are_seeded_and_differ():
    a = ClassBalancedSampler(IMBALANCED, seed=3)
    b = ClassBalancedSampler(IMBALANCED, seed=3)
    assert len(a) == 100
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


@pytest.mark.parametrize('round_up', [True, False])
def test_ranks_get_disjoint_shards_of_one_draw(round_up):
    with mock.patch('medkd.datasets.samplers.class_balanced.get_dist_info',
                    return_value=(0, 1)):
        single = ClassBalancedSampler(
            IMBALANCED, num_samples=102 if round_up else 101, seed=5)
    shards = []
    for rank in range(3):
        with mock.patch(
                'medkd.datasets.samplers.class_balanced.get_dist_info',
                return_value=(rank, 3)):
            sampler = ClassBalancedSampler(IMBALANCED, num_samples=101,
                                           seed=5, round_up=round_up)
            sampler.set_epoch(2)
            shards.append(list(sampler))
            assert len(sampler) == len(shards[-1])
    single.set_epoch(2)
    draw = list(single)
    sizes = [len(s) for s in shards]
    assert sizes == ([34, 34, 34] if round_up else [34, 34, 33])
    # Interleaving the shards gives back the single-process draw.
    merged = [shards[i % 3][i // 3] for i in range(sum(sizes))]
    assert merged == draw


def test_multi_label_samples_count_in_their_rarest_label():
    dataset = _Labels([[0], [0], [0], [0, 1], [], []])
    sampler = ClassBalancedSampler(dataset, seed=0)
    # groups: label 0 -> samples 0-2, label 1 (rarer) -> sample 3, none -> 4-5
    np.testing.assert_allclose(sampler.weights.numpy(),
                               [1 / 3] * 3 + [1.0] + [0.5] * 2)


def test_errors():
    with pytest.raises(TypeError, match='get_cat_ids'):
        ClassBalancedSampler([1, 2, 3], seed=0)
    with pytest.raises(ValueError, match='num_samples'):
        ClassBalancedSampler(IMBALANCED, num_samples=0, seed=0)


def test_covid_config_loader_balances_a_folder_tree(tmp_path):
    counts = dict(Covid=2, Normal=6, Pneumonia=16)
    for name, n in counts.items():
        (tmp_path / 'train' / name).mkdir(parents=True)
        for i in range(n):
            assert cv2.imwrite(str(tmp_path / 'train' / name / f'{i}.png'),
                               np.full((8, 8, 3), i, np.uint8))
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                 'datasets', 'covid_cxr.py'))
    loader = cfg.train_dataloader
    loader.dataset.update(data_root=str(tmp_path),
                          pipeline=[dict(type='LoadImageFromFile'),
                                    dict(type='PackInputs')])
    loader.update(num_workers=0, persistent_workers=False, batch_size=24)
    loader.sampler.num_samples = 2400
    dataloader = Runner.build_dataloader(loader, seed=0)
    sampler = dataloader.sampler
    assert isinstance(sampler, ClassBalancedSampler)
    assert dataloader.dataset.metainfo['classes'] == ('Covid', 'Normal',
                                                      'Pneumonia')
    drawn = Counter(dataloader.dataset.get_cat_ids(i)[0] for i in sampler)
    for c in range(3):
        assert drawn[c] / 2400 == pytest.approx(1 / 3, abs=0.04)
