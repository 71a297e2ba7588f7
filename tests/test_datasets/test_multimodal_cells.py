import csv
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from medkd.datasets import (MultiModalCells, SyntheticMultiModalCells,
                            generate_synthetic_cells)
from medkd.registry import TRANSFORMS

CLASSES = ('NEU', 'LYM', 'EOS', 'MO', 'BAS')
MODALITIES = ('fluorescent', 'color1')


def write_cells(root, num_per_class=6, size=8, labels=None):
    """A CSV of cells with an RGB fluorescent and a grayscale color1 image;
    pixel values encode (cell, modality). Returns the rows."""
    root = str(root)
    rows = []
    labels = labels or [c for c in CLASSES for _ in range(num_per_class)]
    for i, label in enumerate(labels):
        row = dict(id=f'cell{i:03d}', label=label, donor=f'd{i % 7}')
        for m, modality in enumerate(MODALITIES):
            rel = f'{modality}/cell{i:03d}.png'
            img = np.full((size, size, 3) if m == 0 else (size, size),
                          10 * m + i % 10, np.uint8)
            path = osp.join(root, rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, img)
            row[modality] = rel
        rows.append(row)
    with open(osp.join(root, 'annotations.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def cells(root, **kwargs):
    # serialize_data=False skips mmengine's gc.collect() (0.5 s per dataset)
    kwargs.setdefault('modalities', MODALITIES)
    kwargs.setdefault('serialize_data', False)
    return MultiModalCells(data_root=str(root), **kwargs)


def ids(dataset):
    return {dataset.get_data_info(i)['sample_id'] for i in range(len(dataset))}


def test_reads_rows_labels_by_name_or_index(tmp_path):
    rows = write_cells(tmp_path, labels=['NEU', '1', 'EOS', '4', 'MO'])
    dataset = cells(tmp_path, num_folds=None)
    assert len(dataset) == 5
    assert [dataset.get_data_info(i)['gt_label'] for i in range(5)] == \
        [0, 1, 2, 4, 3]
    info = dataset.get_data_info(0)
    assert info['img_paths'] == [
        osp.join(str(tmp_path), rows[0][m]) for m in MODALITIES
    ]
    assert info['modalities'] == MODALITIES
    assert dataset.metainfo['classes'] == CLASSES


def test_folds_partition_the_cells_stratified_and_seeded(tmp_path):
    write_cells(tmp_path, num_per_class=10)
    all_ids = ids(cells(tmp_path, split='all'))
    tests = []
    with pytest.raises(ValueError, match='too small for 40 samples'):
        cells(tmp_path, fold=0, split='val', val_ratio=0.1)
    for fold in range(5):
        train = cells(tmp_path, fold=fold, split='train', val_ratio=0.25)
        test = cells(tmp_path, fold=fold, split='test', val_ratio=0.25)
        val = ids(cells(tmp_path, fold=fold, split='val', val_ratio=0.25))
        assert ids(train).isdisjoint(ids(test))
        assert ids(train) | val | ids(test) == all_ids
        labels = [test.get_data_info(i)['gt_label'] for i in range(len(test))]
        assert np.bincount(labels, minlength=5).tolist() == [2] * 5
        # val is a part of the training folds, never the held-out fold
        assert len(val) == 10 and not val & ids(test)
        assert not val & ids(train)
        tests.append(ids(test))
    assert set.union(*tests) == all_ids and sum(map(len, tests)) == 50
    assert ids(cells(tmp_path, fold=1, split='test', seed=3)) == ids(
        cells(tmp_path, fold=1, split='test', seed=3))
    assert ids(cells(tmp_path, fold=1, split='test', seed=3)) != ids(
        cells(tmp_path, fold=1, split='test', seed=0))


def test_val_ratio_carves_val_out_of_the_training_folds(tmp_path):
    write_cells(tmp_path, num_per_class=10)
    kw = dict(fold=2, val_ratio=0.25)
    train, val, test = (
        ids(cells(tmp_path, split=s, **kw)) for s in ('train', 'val', 'test'))
    assert len(val) == 10 and len(train) == 30 and len(test) == 10
    assert not (train & val) and not (train & test) and not (val & test)


def test_val_ratio_zero_has_no_val_split(tmp_path):
    write_cells(tmp_path, num_per_class=10)
    train = cells(tmp_path, fold=1, split='train', val_ratio=0)
    test = cells(tmp_path, fold=1, split='test', val_ratio=0)
    assert len(train) == 40 and not ids(train) & ids(test)
    with pytest.raises(ValueError, match='test fold'):
        cells(tmp_path, fold=1, split='val', val_ratio=0)


def test_group_column_keeps_donors_in_one_fold(tmp_path):
    rows = write_cells(tmp_path, num_per_class=10)
    donor = {r['id']: r['donor'] for r in rows}
    kw = dict(num_folds=3, group_column='donor', val_ratio=0.3)
    train, val, test = ({donor[i]
                         for i in ids(cells(tmp_path, split=split, **kw))}
                        for split in ('train', 'val', 'test'))
    assert val and not train & test and not train & val and not val & test
    # each entry names its donor, the unit its metrics' CIs resample
    dataset = cells(tmp_path, split='test', **kw)
    assert all(dataset.get_data_info(i)['patient_id'] ==
               donor[dataset.get_data_info(i)['sample_id']]
               for i in range(len(dataset)))
    assert cells(tmp_path, split='test', num_folds=3).get_data_info(0)[
        'patient_id'] is None


def test_clear_errors(tmp_path):
    write_cells(tmp_path, labels=['NEU', 'LYM', 'XYZ'])
    ann = osp.join(str(tmp_path), 'annotations.csv')
    with pytest.raises(KeyError, match='bf_blue') as err:
        cells(tmp_path, num_folds=None, modalities=('fluorescent', 'bf_blue'))
    assert ann in str(err.value)
    with pytest.raises(ValueError, match="line 4: label 'XYZ'"):
        cells(tmp_path, num_folds=None)
    write_cells(tmp_path, labels=['NEU', 'LYM'])
    missing = osp.join(str(tmp_path), 'color1', 'cell001.png')
    os.remove(missing)
    with pytest.raises(FileNotFoundError, match=missing):
        cells(tmp_path, num_folds=None)


def test_pipeline_packs_rgb_and_grayscale_channels(tmp_path):
    write_cells(tmp_path, labels=['NEU', 'EOS'])
    dataset = cells(
        tmp_path,
        num_folds=None,
        pipeline=[
            dict(
                type='LoadMultiModalImages',
                color_type=dict(color1='grayscale')),
            dict(type='PackMultiModalInputs')
        ])
    sample = dataset[1]
    assert sample['inputs'].shape == (4, 8, 8)
    assert sample['inputs'][:3].unique().tolist() == [1]  # fluorescent
    assert sample['inputs'][3:].unique().tolist() == [11]  # color1
    assert sample['data_samples'].gt_label.tolist() == [2]
    assert sample['data_samples'].sample_id == 'cell001'


def test_multimodal_apply_shared_or_independent_randomness():
    img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    imgs = [np.stack([img] * 3, axis=2), img.copy()]
    flip = [dict(type='RandomFlip', prob=0.5, direction='horizontal')]
    shared = TRANSFORMS.build(
        dict(type='MultiModalApply', transforms=flip, shared=True))
    independent = TRANSFORMS.build(
        dict(type='MultiModalApply', transforms=flip, shared=False))
    np.random.seed(0)
    differ = 0
    for _ in range(20):
        a, b = shared(dict(imgs=list(imgs)))['imgs']
        assert b.shape == (8, 8)
        np.testing.assert_array_equal(a[..., 0], b)
        a, b = independent(dict(imgs=list(imgs)))['imgs']
        differ += int(not np.array_equal(a[..., 0], b))
    assert 3 <= differ <= 17


def test_reads_the_synthetic_four_modality_csvs(tmp_path):
    kw = dict(num_per_class=(2, 1, 1), image_size=16, num_modalities=4)
    dataset = SyntheticMultiModalCells(
        data_root=str(tmp_path), split='val', num_classes=3, **kw)
    assert len(dataset) == 3
    assert dataset.modalities == ('fluorescent', 'bf_red', 'bf_green',
                                  'bf_blue')
    info = dataset.get_data_info(2)
    assert info['gt_label'] == 2
    assert all(osp.isfile(p) for p in info['img_paths'])
    # The plain class reads the same generated file as it is.
    root = dataset.data_root
    assert osp.dirname(root) == str(tmp_path)
    meta = generate_synthetic_cells(root, num_classes=3, **kw)
    plain = MultiModalCells(
        data_root=root,
        ann_file='train.csv',
        num_folds=None,
        modalities=meta['modalities'],
        metainfo=dict(classes=meta['classes']))
    assert len(plain) == 6
    with pytest.raises(ValueError, match='cross-validation'):
        SyntheticMultiModalCells(data_root=str(tmp_path), num_folds=5, **kw)


def test_pack_rejects_mismatched_sizes():
    pack = TRANSFORMS.build(dict(type='PackMultiModalInputs'))
    with pytest.raises(ValueError, match='one size'):
        pack(
            dict(
                imgs=[
                    np.zeros((8, 8, 3), np.uint8),
                    np.zeros((6, 6), np.uint8)
                ],
                gt_label=0))
    out = pack(
        dict(
            imgs=[np.zeros((8, 8, 3), np.uint8)],
            gt_label=0,
            slot_labels=[1, 2]))
    assert torch.equal(out['data_samples'].slot_labels, torch.tensor([1, 2]))


def test_a_duplicate_cell_id_names_both_lines(tmp_path):
    rows = write_cells(tmp_path, labels=['NEU', 'LYM', 'EOS'])
    rows[2]['id'] = rows[0]['id']
    with open(osp.join(str(tmp_path), 'annotations.csv'), 'w',
              newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError,
                       match=r"annotations.csv, line 4: id 'cell000' is used "
                       r'twice \(first on line 2\)'):
        cells(tmp_path, num_folds=None)
