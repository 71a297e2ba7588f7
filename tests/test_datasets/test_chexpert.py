"""Tests for CheXpert on tiny trees in CheXpert-v1.0-small's layout."""
import csv
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from medkd.datasets.chexpert import (CHEXPERT_COMPETITION_LABELS,
                                     CHEXPERT_LABELS, CHEXPERT_META_COLUMNS)
from medkd.evaluation.metrics.medical_metric import compute_medical_metrics
from medkd.registry import DATASETS

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                  'datasets', 'chexpert.py')
PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='PackInputs', algorithm_keys=['gt_label_mask'])]
# (patient, view, frontal?, {label: value}); unlisted labels are blank.
ROWS = [
    (1, 1, True, {'Cardiomegaly': '1.0', 'Edema': '-1.0',
                  'No Finding': '0.0'}),
    (1, 2, False, {'Pleural Effusion': '1.0'}),
    (2, 1, True, {'No Finding': '1.0', 'Atelectasis': '0.0'}),
    (3, 1, True, {'Atelectasis': '-1.0', 'Support Devices': '1.0',
                  'Consolidation': '-1.0'}),
]


def write_chexpert(root, rows=ROWS, split='train', drop_column=None):
    """Write ``root/CheXpert-v1.0-small/{split}.csv`` and its JPEGs."""
    folder = root / 'CheXpert-v1.0-small'
    columns = [c for c in CHEXPERT_META_COLUMNS + CHEXPERT_LABELS
               if c != drop_column]
    records = []
    for patient, view, frontal, labels in rows:
        kind = 'frontal' if frontal else 'lateral'
        rel = (f'{split}/patient{patient:05d}/study1/'
               f'view{view}_{kind}.jpg')
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        image = np.full((12, 12), (40 * patient + view) % 256, dtype=np.uint8)
        assert cv2.imwrite(str(folder / rel), image)
        record = {c: '' for c in columns}
        record.update({
            'Path': f'CheXpert-v1.0-small/{rel}', 'Sex': 'Female',
            'Age': '68', 'Frontal/Lateral': 'Frontal' if frontal else
            'Lateral', 'AP/PA': 'AP' if frontal else ''
        })
        record.update({k: v for k, v in labels.items() if k in columns})
        records.append(record)
    with open(folder / f'{split}.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return folder


def _build(root, **kwargs):
    # Parsing tests read the CSV as it is; the split tests pass `split`.
    if 'split' not in kwargs:
        kwargs.setdefault('ann_file', 'train.csv')
    return DATASETS.build(
        dict(type='CheXpert', data_root=str(root), pipeline=PIPELINE,
             **kwargs))


def _targets(dataset):
    labels = dataset.metainfo['classes']
    y = np.zeros((len(dataset), len(labels)), np.int64)
    for i in range(len(dataset)):
        y[i, dataset.get_cat_ids(i)] = 1
    masks = np.stack([dataset.get_data_info(i)['gt_label_mask'].numpy()
                      for i in range(len(dataset))])
    return labels, y, masks


@pytest.mark.parametrize('policy', ['ones', 'zeros', 'ignore'])
def test_uncertainty_policies_blank_and_paths(tmp_path, policy):
    write_chexpert(tmp_path)
    dataset = _build(tmp_path, uncertainty=policy)
    labels, y, masks = _targets(dataset)
    assert labels == CHEXPERT_LABELS and len(dataset) == 4
    col = {name: i for i, name in enumerate(labels)}
    uncertain = [(0, 'Edema'), (3, 'Atelectasis'), (3, 'Consolidation')]
    for row, name in uncertain:
        assert y[row, col[name]] == (1 if policy == 'ones' else 0)
        assert masks[row, col[name]] == (0 if policy == 'ignore' else 1)
    assert masks.sum() == masks.size - (3 if policy == 'ignore' else 0)
    # Positives that are not uncertain, and blank = 0.
    assert y[0, col['Cardiomegaly']] == 1 and y[1, col['Pleural Effusion']]
    assert y[2, col['No Finding']] == 1 and y[2].sum() == 1
    assert y[3, col['Support Devices']] == 1
    assert y[0, col['Fracture']] == 0 and masks[0, col['Fracture']] == 1
    info = dataset.get_data_info(1)
    assert info['img_path'] == str(
        tmp_path / 'CheXpert-v1.0-small' / 'train' / 'patient00001' /
        'study1' / 'view2_lateral.jpg')
    assert osp.isfile(info['img_path'])


def test_root_may_be_the_chexpert_folder_frontal_only_and_label_subset(
        tmp_path):
    folder = write_chexpert(tmp_path, split='valid')
    full = _build(tmp_path, split='test')
    inner = _build(folder, split='test', frontal_only=True,
                   labels=CHEXPERT_COMPETITION_LABELS, uncertainty='ignore')
    assert len(full) == 4 and len(inner) == 3  # the lateral view is dropped
    assert inner.metainfo['classes'] == CHEXPERT_COMPETITION_LABELS
    labels, y, masks = _targets(inner)
    # rows 0, 2, 3; columns Atelectasis, Cardiomegaly, Consolidation, Edema,
    # Pleural Effusion
    np.testing.assert_array_equal(
        y, [[0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(
        masks, [[1, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 1, 0, 1, 1]])
    assert inner.get_data_info(0)['img_path'] == full.get_data_info(0)[
        'img_path']


def test_packed_mask_reaches_the_data_sample_and_the_metric(tmp_path):
    write_chexpert(tmp_path)
    dataset = _build(tmp_path, uncertainty='ignore',
                     labels=CHEXPERT_COMPETITION_LABELS)
    packed = [dataset[i] for i in range(len(dataset))]
    samples = [p['data_samples'] for p in packed]
    assert packed[0]['inputs'].shape == (3, 12, 12)
    for i, sample in enumerate(samples):
        assert isinstance(sample.gt_label_mask, torch.Tensor)
        torch.testing.assert_close(
            sample.gt_label_mask,
            dataset.get_data_info(i)['gt_label_mask'])

    rng = np.random.default_rng(0)
    scores = rng.random((len(samples), 5))
    for sample, score in zip(samples, scores):
        sample.set_pred_score(torch.tensor(score, dtype=torch.float32))
    evaluator = Evaluator(dict(type='MedicalMetric', multi_label=True))
    evaluator.dataset_meta = dataset.metainfo
    evaluator.process([s.to_dict() for s in samples])
    result = evaluator.evaluate(len(samples))

    _, y, masks = _targets(dataset)
    expected = compute_medical_metrics(
        scores.astype(np.float32), y, multi_label=True, mask=masks,
        class_names=CHEXPERT_COMPETITION_LABELS)
    unmasked = compute_medical_metrics(scores.astype(np.float32), y,
                                       multi_label=True)
    assert expected['accuracy'] != unmasked['accuracy']
    assert result['medical/accuracy'] == pytest.approx(expected['accuracy'])


def _patients(dataset):
    return {dataset.get_data_info(i)['patient_id'] for i in range(len(dataset))}


def test_valid_csv_is_test_and_val_is_a_patient_group_of_train(
        tmp_path, monkeypatch):
    rows = [(p, v, v == 1, {'Edema': '1.0' if p % 2 else '0.0'})
            for p in range(1, 21) for v in (1, 2)]
    write_chexpert(tmp_path / 'data', rows=rows)
    write_chexpert(tmp_path / 'data', rows=ROWS, split='valid')
    # A relative data_root, as in the configs (it used to be joined twice).
    monkeypatch.chdir(tmp_path)
    train, val, test = (_build('data', split=split, val_ratio=0.2)
                        for split in ('train', 'val', 'test'))
    assert len(test) == 4 and _patients(test) == {
        f'patient{p:05d}' for p in (1, 2, 3)}
    assert all('/valid/' in test.get_data_info(i)['img_path']
               for i in range(len(test)))
    assert len(train) + len(val) == 40 and len(val) == 8
    assert not _patients(train) & _patients(val)
    paths = [{d.get_data_info(i)['img_path'] for i in range(len(d))}
             for d in (train, val, test)]
    assert not paths[0] & paths[2] and not paths[1] & paths[2]
    assert osp.isfile(val.get_data_info(0)['img_path'])
    # Seeded: the same seed gives the same patients, another seed others.
    assert _patients(_build('data', split='val', val_ratio=0.2)) == \
        _patients(val)
    assert _patients(_build('data', split='val', val_ratio=0.2,
                            seed=1)) != _patients(val)
    with pytest.raises(ValueError, match="split='test'"):
        _build('data', split='valid')
    with pytest.raises(ValueError, match='val_ratio'):
        _build('data', split='val', val_ratio=0)


def test_base_config_packs_the_mask():
    cfg = Config.fromfile(CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pack = cfg[loader].dataset.pipeline[-1]
        assert pack.type == 'PackInputs'
        assert 'gt_label_mask' in pack.algorithm_keys
    assert cfg.val_evaluator == dict(type='MedicalMetric', multi_label=True)


def test_errors_name_the_csv_column_and_image(tmp_path):
    write_chexpert(tmp_path, drop_column='Edema')
    with pytest.raises(KeyError, match=r"train.csv has no column\(s\) "
                       r"\['Edema'\]"):
        _build(tmp_path)
    _build(tmp_path, labels=['Cardiomegaly'])  # Edema not needed
    with pytest.raises(FileNotFoundError, match='neither'):
        _build(tmp_path / 'nowhere')

    folder = write_chexpert(tmp_path)
    broken = folder / 'train' / 'patient00002' / 'study1' / \
        'view1_frontal.jpg'
    broken.write_bytes(b'not a jpeg')
    dataset = _build(tmp_path)
    with pytest.raises(Exception, match='patient00002/study1/view1_frontal'):
        dataset[2]
    with pytest.raises(OSError, match='patient00002/study1/view1_frontal'):
        _build(tmp_path, check_images=True)

    rows = [(1, 1, True, {'Edema': 'maybe'})]
    write_chexpert(tmp_path, rows=rows)
    with pytest.raises(ValueError, match="line 2, column 'Edema'.*'maybe'"):
        _build(tmp_path)


def test_an_image_listed_twice_names_both_lines(tmp_path):
    folder = write_chexpert(tmp_path)
    csv_file = folder / 'train.csv'
    lines = csv_file.read_text().splitlines()
    csv_file.write_text('\n'.join(lines + [lines[1]]) + '\n')
    with pytest.raises(ValueError,
                       match=rf'line {len(lines) + 1}: image .* is listed '
                       r'twice \(first on line 2\)'):
        _build(tmp_path)
