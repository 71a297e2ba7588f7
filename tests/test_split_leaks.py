"""No shipped config lets the test set influence training or selection.

For every config under ``configs/`` whose dataset can be generated here in
its real on-disk layout, build its train / val / test datasets on tiny
generated data and check that no image (by file) and no patient is in two
splits, and that ``save_best`` names a metric of the validation evaluator.
"""
import csv
import glob
import itertools
import json
import os.path as osp
import runpy

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from medkd.datasets.chexpert import CHEXPERT_LABELS, CHEXPERT_META_COLUMNS
from medkd.datasets.kather import Kather2016
from medkd.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True)
    if '_base_' not in p.split(osp.sep))
SPLITS = ('train', 'val', 'test')
# Splits fixed by the data's publishers as separate arrays: nothing to leak.
OFFICIAL_ARRAYS = ('MedMNIST', )


def _image(path, value):
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((8, 8, 3), value % 256, np.uint8))


def make_cnmc(root):
    """``training_data/fold_k/{all,hem}/UID_<patient>_<cell>_1_<cls>.bmp``:
    30 patients, 3 cells each."""
    for p in range(30):
        cls, patient = ('all', str(p)) if p % 2 else ('hem', f'H{p}')
        for cell in range(3):
            _image(
                osp.join(root, 'training_data', f'fold_{p % 3}', cls,
                         f'UID_{patient}_{cell}_1_{cls}.bmp'), p)


def make_chexpert(root):
    """``CheXpert-v1.0-small/{train,valid}.csv``: 60 training patients with
    1 to 4 studies each and a lateral view in every study of half of them
    (so frontal-only and all-view lists differ in per-patient counts), 3
    other patients in valid.csv."""
    folder = osp.join(root, 'CheXpert-v1.0-small')
    columns = list(CHEXPERT_META_COLUMNS + CHEXPERT_LABELS)
    rng = np.random.default_rng(0)
    for split, patients in (('train', range(1, 61)), ('valid',
                                                      range(64541, 64544))):
        records = []
        for p in patients:
            views = ((1, 'frontal'), (2, 'lateral')) if p % 2 else \
                ((1, 'frontal'), )
            for study in range(1, int(rng.integers(1, 5)) + 1):
                for view, kind in views:
                    rel = (f'{split}/patient{p:05d}/study{study}/'
                           f'view{view}_{kind}.jpg')
                    _image(osp.join(folder, rel), p)
                    record = dict.fromkeys(columns, '')
                    record.update({
                        'Path': f'CheXpert-v1.0-small/{rel}',
                        'Frontal/Lateral': kind.capitalize(),
                        'Edema': str(float(p % 2))
                    })
                    records.append(record)
        with open(osp.join(folder, f'{split}.csv'), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)


@pytest.mark.parametrize('frontal', list(itertools.product((False, True),
                                                           repeat=3)))
def test_chexpert_patients_stay_in_one_split_whatever_frontal_only(
        frontal, tmp_path_factory, data):
    """Train / val / test each with or without ``frontal_only``: the
    patient-grouped split is cut before lateral views are dropped, so the
    splits never share a patient (before: 17 of 44 val patients in train
    with train all views, val frontal only)."""
    root = data.root('CheXpert', make_chexpert)
    patients = []
    for split, only in zip(SPLITS, frontal):
        dataset = DATASETS.build(
            dict(type='CheXpert', data_root=root, split=split,
                 frontal_only=only, pipeline=[], serialize_data=False))
        entries = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert entries
        if only:
            assert all('frontal' in e['img_path'] for e in entries)
        patients.append({e['patient_id'] for e in entries})
    train, val, test = patients
    assert not train & val and not train & test and not val & test


def make_kather(root):
    """``Kather_texture_2016_image_tiles_5000/<class folder>/*.tif`` named
    as Kather 2016 names them (``<id>_<slide>_<image>.tif_Row_<r>_Col_<c>
    .tif``), each class's tiles from 10 slides."""
    for label, folder in enumerate(Kather2016.CLASS_FOLDERS):
        for i in range(10):
            name = (f'{label * 100 + i:X}_CRC-Prim-HE-{i + 1:02d}_'
                    f'{label:03d}.tif_Row_1_Col_{151 * i + 1}.tif')
            _image(
                osp.join(root, 'Kather_texture_2016_image_tiles_5000', folder,
                         name), label * 20 + i)


def make_class_folders(root, classes):
    """``{train,val,test}/<class>/*.png`` (mmpretrain's CustomDataset)."""
    for split in SPLITS:
        for c, name in enumerate(classes):
            for i in range(2):
                _image(osp.join(root, split, name, f'{split}_{c}_{i}.png'), i)


def make_multimodal(root, modalities, classes):
    """``annotations.csv`` with one image per modality, 20 cells a class."""
    rows = []
    for i in range(20 * len(classes)):
        row = dict(id=f'cell{i:04d}', label=classes[i % len(classes)])
        for m in modalities:
            row[m] = f'{m}/cell{i:04d}.png'
            _image(osp.join(root, row[m]), i)
        rows.append(row)
    with open(osp.join(root, 'annotations.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _inner_dataset(dataset_cfg):
    """The dataset inside wrappers such as MIMODataset."""
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


class _Data:
    """Generates each dataset once, in its real layout, and builds splits
    (cached: many configs share a dataset)."""

    def __init__(self, tmp_path_factory):
        self.factory = tmp_path_factory
        self.roots = {}
        self.built = {}

    def root(self, key, make, *args):
        if key not in self.roots:
            root = str(self.factory.mktemp(key.replace('/', '_')))
            make(root, *args)
            self.roots[key] = root
        return self.roots[key]

    def prepare(self, cfg):
        """The dataset config pointed at generated data, or None."""
        cfg = dict(cfg, pipeline=[], serialize_data=False)
        kind = cfg['type']
        if kind == 'CNMC2019':
            cfg['data_root'] = self.root(kind, make_cnmc)
        elif kind == 'CheXpert':
            cfg['data_root'] = self.root(kind, make_chexpert)
        elif kind == 'Kather2016':
            cfg['data_root'] = self.root(kind, make_kather)
        elif kind == 'CustomDataset':
            classes = ('Covid', 'Normal', 'Pneumonia')
            cfg['data_root'] = self.root(kind, make_class_folders, classes)
        elif kind == 'MultiModalCells':
            classes = tuple(cfg['metainfo']['classes'])
            modalities = tuple(cfg['modalities'])
            cfg['data_root'] = self.root('mm_' + '_'.join(modalities),
                                         make_multimodal, modalities, classes)
        elif kind in ('SyntheticCells', 'SyntheticMultiModalCells'):
            # one folder per generator setting (e.g. multi_label)
            setting = '_'.join(f'{k}{cfg[k]}' for k in sorted(cfg)
                               if k in ('multi_label', 'num_classes', 'seed'))
            cfg.update(
                data_root=str(self.factory.getbasetemp() /
                              f'synthetic_{setting}'),
                num_per_class=(3, 2, 2),
                image_size=16)
        else:
            return None
        return cfg

    def build(self, cfg):
        key = json.dumps(cfg, sort_keys=True, default=str)
        if key not in self.built:
            dataset = DATASETS.build(cfg)
            entries = [dataset.get_data_info(i) for i in range(len(dataset))]
            files = {
                e['img_path'] if 'img_path' in e else tuple(e['img_paths'])
                for e in entries
            }
            patients = {
                e['patient_id']
                for e in entries if e.get('patient_id') is not None
            }
            assert len(files) == len(entries) > 0, cfg
            self.built[key] = (files, patients)
        return self.built[key]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return _Data(tmp_path_factory)


def test_every_dataset_type_is_covered():
    types = set()
    for config in CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, config))
        if 'train_dataloader' in cfg:
            types.add(_inner_dataset(cfg.train_dataloader.dataset)['type'])
    covered = {
        'CNMC2019', 'CheXpert', 'Kather2016', 'CustomDataset',
        'MultiModalCells', 'SyntheticCells', 'SyntheticMultiModalCells'
    }
    assert types <= covered | set(OFFICIAL_ARRAYS), types - covered


@pytest.mark.parametrize('config', CONFIGS)
def test_splits_do_not_leak(config, data):
    cfg = Config.fromfile(osp.join(ROOT, config))
    if 'train_dataloader' not in cfg:
        pytest.skip('a chain config; its stages are configs of their own')
    checkpoint = cfg.default_hooks.get('checkpoint', {})
    save_best = checkpoint.get('save_best')
    assert save_best != 'auto', (
        f'{config}: save_best="auto" picks whatever metric comes first')
    if save_best:
        assert cfg.val_evaluator.type == 'MedicalMetric'
        assert save_best.startswith(
            cfg.val_evaluator.get('prefix', 'medical') + '/'), save_best

    premise = cfg.get('premise_swap')
    if premise:  # a gated-premise teacher: the demo writes its train list
        root = str(data.factory.mktemp('premise'))
        for split in ('val', 'test'):
            cfg[f'{split}_dataloader'].dataset.update(
                data_root=root, num_per_class=(3, 2, 2), image_size=16)
        runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'))[
            'prepare_premise_teacher'](cfg)
    datasets = [
        _inner_dataset(cfg[f'{split}_dataloader'].dataset.to_dict())
        for split in SPLITS
    ]
    if datasets[0]['type'] in OFFICIAL_ARRAYS:
        pytest.skip(f'{datasets[0]["type"]}: official split arrays')
    prepared = [data.prepare(d) for d in datasets]
    if premise:  # the list as written, over the generated synthetic tree
        prepared[0] = dict(datasets[0], pipeline=[], serialize_data=False)
    assert all(prepared), f'{config}: no generator for {datasets}'
    (train, train_p), (val, val_p), (test, test_p) = map(data.build, prepared)
    assert not val & test, f'{config}: {len(val & test)} val files in test'
    assert not train & test, f'{config}: {len(train & test)} train files in '\
        'test'
    assert not train & val, f'{config}: {len(train & val)} train files in val'
    assert not (train_p & test_p or train_p & val_p or val_p & test_p), (
        f'{config}: patients in two splits: '
        f'{(train_p & test_p) | (train_p & val_p) | (val_p & test_p)}')
