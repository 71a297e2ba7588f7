"""Tests for Kather2016 on tiny trees in Kather 2016's download layouts."""
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from medkd.datasets import Kather2016
from medkd.registry import DATASETS

CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
    'kather.py')
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
TOP = 'Kather_texture_2016_image_tiles_5000'
FOLDERS = Kather2016.CLASS_FOLDERS
PER_CLASS = 10


def tile(label):
    """An 8x8 BGR tile whose pixels encode the label."""
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[..., 0] = label * 30
    image[..., 2] = 255 - label * 30
    return image


SLIDES = 10


def tile_name(label, i):
    """Kather 2016's name of tile ``i`` of class ``label``: ``<tile id>_
    <slide>_<image>.tif_Row_<r>_Col_<c>.tif``; tile ``i`` of every class
    comes from slide ``CRC-Prim-HE-<i % 10 + 1>``."""
    slide = i % SLIDES + 1
    return (f'{label * 100 + i:X}_CRC-Prim-HE-{slide:02d}_{label:03d}.tif'
            f'_Row_{1 + 150 * i}_Col_{151}.tif')


def slide_of(path):
    return osp.basename(path).split('_')[1]


def make_kather(root, nesting=1):
    """Write ``root/TOP[/TOP]/<class folder>/<tile name>``; return the
    folder that holds the class folders."""
    inner = root
    for _ in range(nesting):
        inner = inner / TOP
    for label, folder in enumerate(FOLDERS):
        (inner / folder).mkdir(parents=True)
        for i in range(PER_CLASS):
            path = inner / folder / tile_name(label, i)
            assert cv2.imwrite(str(path), tile(label))
    return inner


@pytest.fixture(scope='module')
def kather_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('kather')
    make_kather(root)
    return str(root)


def labels_of(dataset):
    return [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]


def paths_of(dataset):
    return {dataset.get_data_info(i)['img_path'] for i in range(len(dataset))}


def test_reads_every_tile_with_its_class(kather_root):
    dataset = Kather2016(kather_root, split='all')
    assert len(dataset) == 8 * PER_CLASS
    assert dataset.CLASSES == ('tumor', 'stroma', 'complex', 'lympho',
                               'debris', 'mucosa', 'adipose', 'empty')
    assert Counter(labels_of(dataset)) == {i: PER_CLASS for i in range(8)}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        folder = osp.basename(osp.dirname(info['img_path']))
        assert info['gt_label'] == FOLDERS.index(folder)


@pytest.mark.parametrize('nesting,point_at_inner', [(2, False), (2, True),
                                                    (1, True)])
def test_nested_and_inner_roots(tmp_path, nesting, point_at_inner):
    inner = make_kather(tmp_path, nesting)
    dataset = Kather2016(
        str(inner if point_at_inner else tmp_path), split='all')
    assert len(dataset) == 8 * PER_CLASS
    assert Counter(labels_of(dataset)) == {i: PER_CLASS for i in range(8)}


def test_splits_keep_each_slide_in_one_split(kather_root):
    """By default whole slides are dealt out (the unit a patient's tissue
    shares), and each tile's entry names its slide as ``patient_id``."""
    splits = {
        split: Kather2016(kather_root, split=split)
        for split in ('train', 'val', 'test')
    }
    slides = {}
    for split, dataset in splits.items():
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert all(i['patient_id'] == slide_of(i['img_path'])
                   for i in infos)
        slides[split] = {i['patient_id'] for i in infos}
    assert not slides['train'] & slides['val']
    assert not slides['train'] & slides['test']
    assert not slides['val'] & slides['test']
    assert len(slides['test']) == 2  # 20 % of 10 slides
    paths = [paths_of(d) for d in splits.values()]
    assert paths[0] | paths[1] | paths[2] == paths_of(
        Kather2016(kather_root, split='all'))
    # the per-tile split (the old behaviour) mixes slides across splits
    per_tile = [{slide_of(p) for p in paths_of(Kather2016(
        kather_root, split=s, group_by_slide=False))}
                for s in ('train', 'test')]
    assert per_tile[0] & per_tile[1]


def test_a_tile_name_without_its_slide_is_refused(tmp_path):
    inner = make_kather(tmp_path)
    odd = inner / '03_COMPLEX' / 'renamed_tile.tif'
    assert cv2.imwrite(str(odd), tile(2))
    with pytest.raises(ValueError, match='grouped by source slide') as error:
        Kather2016(str(tmp_path))
    assert str(odd) in str(error.value)
    assert 'group_by_slide=False' in str(error.value)
    assert len(Kather2016(str(tmp_path), split='all',
                          group_by_slide=False)) == 8 * PER_CLASS + 1


def test_per_tile_splits_disjoint_cover_and_stratified(kather_root):
    splits = {
        split: Kather2016(kather_root, split=split, group_by_slide=False)
        for split in ('train', 'val', 'test')
    }
    # 80 tiles -> 16 test; 64 left -> 13 val (rounded 12.8), 51 train.
    assert [len(splits[s]) for s in ('train', 'val', 'test')] == [51, 13, 16]
    paths = [paths_of(d) for d in splits.values()]
    assert not paths[0] & paths[1] and not paths[0] & paths[2]
    assert not paths[1] & paths[2]
    assert paths[0] | paths[1] | paths[2] == paths_of(
        Kather2016(kather_root, split='all'))
    # Stratified: every class has its share of each split, within one tile.
    for dataset in splits.values():
        counts = Counter(labels_of(dataset))
        for label in range(8):
            assert abs(counts[label] - len(dataset) / 8) <= 1
    assert Counter(labels_of(splits['test'])) == {i: 2 for i in range(8)}
    assert all(splits['test'].get_data_info(i)['patient_id'] is None
               for i in range(len(splits['test'])))


def test_split_deterministic_per_seed_and_differs_across_seeds(kather_root):
    first = paths_of(Kather2016(kather_root, split='test', seed=1))
    again = paths_of(Kather2016(kather_root, split='test', seed=1))
    other = paths_of(Kather2016(kather_root, split='test', seed=2))
    assert first == again
    assert first != other
    # The test split does not depend on val_ratio (test is cut first).
    assert first == paths_of(
        Kather2016(kather_root, split='test', seed=1, val_ratio=0.5))


def test_zero_ratios_move_tiles_to_train(kather_root):
    assert len(Kather2016(kather_root, split='train', val_ratio=0)) == 64
    assert len(Kather2016(kather_root, split='val', test_ratio=0)) == 16
    with pytest.raises(ValueError, match="val_ratio=0.*'val' empty"):
        Kather2016(kather_root, split='val', val_ratio=0)


def test_loads_a_tif_through_the_pipeline(kather_root):
    dataset = Kather2016(kather_root, split='val', pipeline=PIPELINE)
    sample = dataset[0]
    label = dataset.get_data_info(0)['gt_label']
    assert sample['data_samples'].gt_label.item() == label
    expected = tile(label).transpose(2, 0, 1)
    assert np.array_equal(sample['inputs'].numpy(), expected)


def test_builds_from_registry(kather_root):
    dataset = DATASETS.build(
        dict(type='Kather2016', data_root=kather_root, split='test'))
    assert isinstance(dataset, Kather2016) and len(dataset) == 16


def test_missing_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        Kather2016(str(tmp_path / 'nowhere'))


def test_missing_class_folder_lists_found_ones(tmp_path):
    inner = make_kather(tmp_path)
    for path in (inner / '03_COMPLEX').iterdir():
        path.unlink()
    (inner / '03_COMPLEX').rmdir()
    with pytest.raises(FileNotFoundError) as error:
        Kather2016(str(tmp_path))
    message = str(error.value)
    assert "['03_COMPLEX'] not found" in message
    assert "found ['01_TUMOR', '02_STROMA', '04_LYMPHO'" in message


def test_empty_class_folder_is_named(tmp_path):
    inner = make_kather(tmp_path)
    for path in (inner / '05_DEBRIS').iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match='no .tif') as error:
        Kather2016(str(tmp_path))
    assert str(inner / '05_DEBRIS') in str(error.value)


def test_duplicate_copies_are_reported(tmp_path):
    make_kather(tmp_path / 'a')
    make_kather(tmp_path / 'b')
    with pytest.raises(ValueError, match='more than once') as error:
        Kather2016(str(tmp_path))
    assert str(tmp_path / 'b' / TOP / '01_TUMOR') in str(error.value)


def test_corrupt_tile_is_named(tmp_path):
    inner = make_kather(tmp_path)
    bad = inner / '02_STROMA' / tile_name(1, 0)
    bad.write_bytes(b'II*\x00 truncated')
    with pytest.raises(OSError, match='1 of 80') as error:
        Kather2016(str(tmp_path), split='all', check_images=True)
    assert str(bad) in str(error.value)


@pytest.mark.parametrize('kwargs,match', [(dict(split='validation'), 'split'),
                                          (dict(test_ratio=1.0), 'test_ratio'),
                                          (dict(val_ratio=-0.1), 'val_ratio')])
def test_bad_arguments_are_named(kather_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Kather2016(kather_root, **kwargs)


def test_base_config_values_and_pipelines(kather_root):
    cfg = Config.fromfile(CONFIG)
    assert cfg.data_preprocessor.num_classes == 8
    assert cfg.train_pipeline[1].scale == (112, 112)
    assert cfg.test_pipeline[1].scale == (112, 112)
    assert cfg.train_pipeline[2].direction == 'horizontal'
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.test_evaluator.type == 'MedicalMetric'
    for name in ('train', 'val'):
        dataset_cfg = cfg[f'{name}_dataloader'].dataset
        dataset_cfg.data_root = kather_root
        dataset = DATASETS.build(dataset_cfg)
        assert tuple(dataset[0]['inputs'].shape) == (3, 112, 112)
