"""Tests for CNMC2019 on tiny trees in C-NMC 2019's download layouts."""
import csv
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from medkd.datasets import CNMC2019
from medkd.registry import DATASETS

CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
    'cnmc.py')
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
# 12 blast ("all") patients and 8 healthy ("hem") ones, 3 cells each, spread
# over the 3 folds by patient: 36 all + 24 hem = 60 images.
ALL_PATIENTS = [str(i) for i in range(1, 13)]
HEM_PATIENTS = [f'H{i}' for i in range(1, 9)]
CELLS = 3


def write_image(path, value=0):
    image = np.full((8, 8, 3), value, dtype=np.uint8)
    image[0, 0] = (10, 20, 30)
    assert cv2.imwrite(str(path), image)


def make_training_data(root):
    """Write ``root/fold_{0,1,2}/{all,hem}/UID_<patient>_<cell>_1_<cls>.bmp``
    and return ``root``."""
    for class_name, patients in (('all', ALL_PATIENTS), ('hem', HEM_PATIENTS)):
        for i, patient in enumerate(patients):
            folder = root / f'fold_{i % 3}' / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for cell in range(CELLS):
                write_image(folder /
                            f'UID_{patient}_{cell}_1_{class_name}.bmp')
    return root


@pytest.fixture(scope='module')
def cnmc_root(tmp_path_factory):
    """A data_root holding ``training_data/``."""
    root = tmp_path_factory.mktemp('cnmc')
    make_training_data(root / 'training_data')
    return str(root)


@pytest.fixture
def fresh_root(tmp_path):
    """A data_root the test may break."""
    make_training_data(tmp_path / 'training_data')
    return tmp_path


def labels_of(dataset):
    return [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]


def paths_of(dataset):
    return {dataset.get_data_info(i)['img_path'] for i in range(len(dataset))}


def test_reads_all_images_with_labels_and_patients(cnmc_root):
    dataset = CNMC2019(cnmc_root, split='all')
    assert len(dataset) == 60
    assert dataset.CLASSES == ('hem', 'all')
    assert Counter(labels_of(dataset)) == {1: 36, 0: 24}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        folder = osp.basename(osp.dirname(info['img_path']))
        assert info['gt_label'] == dataset.CLASSES.index(folder)
        assert osp.basename(
            info['img_path']).startswith(f'UID_{info["patient_id"]}_')
    assert {
        dataset.get_data_info(i)['patient_id']
        for i in range(len(dataset))
    } == set(ALL_PATIENTS + HEM_PATIENTS)


@pytest.mark.parametrize('layout', ['C-NMC_training_data', 'inner'])
def test_accepts_tcia_name_and_training_folder_itself(tmp_path, layout):
    if layout == 'inner':
        data_root = make_training_data(tmp_path / 'training_data')
    else:
        make_training_data(tmp_path / layout)
        data_root = tmp_path
    dataset = CNMC2019(str(data_root), split='all')
    assert len(dataset) == 60
    assert Counter(labels_of(dataset)) == {1: 36, 0: 24}


def test_per_image_splits_disjoint_cover_and_stratified(cnmc_root):
    splits = {
        split: CNMC2019(cnmc_root, split=split, group_by_patient=False)
        for split in ('train', 'val', 'test')
    }
    assert [len(splits[s]) for s in ('train', 'val', 'test')] == [42, 9, 9]
    paths = [paths_of(d) for d in splits.values()]
    assert not paths[0] & paths[1] and not paths[0] & paths[2]
    assert not paths[1] & paths[2]
    assert paths[0] | paths[1] | paths[2] == paths_of(
        CNMC2019(cnmc_root, split='all'))
    # Per image, patients do cross the splits (what the default prevents).
    patients = [{d.get_data_info(i)['patient_id'] for i in range(len(d))}
                for d in splits.values()]
    assert patients[0] & patients[2]
    # Stratified: each split's blast count is within one image of 60%.
    for dataset in splits.values():
        assert abs(sum(labels_of(dataset)) - 0.6 * len(dataset)) <= 1


def test_split_deterministic_per_seed_and_differs_across_seeds(cnmc_root):
    first = paths_of(CNMC2019(cnmc_root, split='val', seed=5))
    again = paths_of(CNMC2019(cnmc_root, split='val', seed=5))
    other = paths_of(CNMC2019(cnmc_root, split='val', seed=6))
    assert first == again
    assert first != other


def test_default_split_puts_each_patient_in_one_split(cnmc_root):
    patients = {}
    total = 0
    for split in ('train', 'val', 'test'):
        dataset = CNMC2019(cnmc_root, split=split)
        total += len(dataset)
        patients[split] = {
            dataset.get_data_info(i)['patient_id']
            for i in range(len(dataset))
        }
        assert set(labels_of(dataset)) == {0, 1}
    assert total == 60
    assert not patients['train'] & patients['val']
    assert not patients['train'] & patients['test']
    assert not patients['val'] & patients['test']


def test_folds_restricts_to_given_folds(cnmc_root):
    dataset = CNMC2019(cnmc_root, split='all', folds=(0, 2))
    # Patients 0, 2, 3, 5, ... of each class list (index % 3 != 1).
    assert len(dataset) == 60 - CELLS * (4 + 3)
    assert all('fold_1' not in path for path in paths_of(dataset))
    with pytest.raises(FileNotFoundError, match='fold_3'):
        CNMC2019(cnmc_root, split='all', folds=(3, ))


def test_loads_a_sample_through_the_pipeline(cnmc_root):
    dataset = CNMC2019(cnmc_root, split='test', pipeline=PIPELINE)
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 8, 8)
    assert sample['inputs'][:, 0, 0].tolist() == [10, 20, 30]
    assert sample['data_samples'].gt_label.item() == dataset.get_data_info(
        0)['gt_label']


def test_builds_from_registry(cnmc_root):
    dataset = DATASETS.build(
        dict(type='CNMC2019', data_root=cnmc_root, split='val'))
    assert isinstance(dataset, CNMC2019) and len(dataset) == 9


def test_missing_root_names_tried_paths(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError) as error:
        CNMC2019(str(missing))
    message = str(error.value)
    assert str(missing / 'training_data') in message
    assert str(missing / 'C-NMC_training_data') in message


def test_missing_or_empty_class_folder_is_named(fresh_root):
    hem_dir = fresh_root / 'training_data' / 'fold_1' / 'hem'
    for name in list(hem_dir.iterdir()):
        name.unlink()
    with pytest.raises(FileNotFoundError, match='no .bmp') as error:
        CNMC2019(str(fresh_root))
    assert str(hem_dir) in str(error.value)
    hem_dir.rmdir()
    with pytest.raises(FileNotFoundError, match='missing') as error:
        CNMC2019(str(fresh_root))
    assert str(hem_dir) in str(error.value)


def test_bad_arguments_are_named(cnmc_root):
    with pytest.raises(ValueError, match='split'):
        CNMC2019(cnmc_root, split='training')
    with pytest.raises(ValueError, match='split_ratios'):
        CNMC2019(cnmc_root, split_ratios=(0.8, 0.2))


def test_group_by_patient_needs_uid_names(fresh_root):
    odd = fresh_root / 'training_data' / 'fold_0' / 'all' / 'cell.bmp'
    write_image(odd)
    dataset = CNMC2019(str(fresh_root), split='all')
    patient_of_path = {
        dataset.get_data_info(i)['img_path']:
        dataset.get_data_info(i)['patient_id']
        for i in range(len(dataset))
    }
    assert patient_of_path[str(odd)] is None
    # The default split is by patient, so an unnamed file is refused ...
    with pytest.raises(ValueError, match='UID_') as error:
        CNMC2019(str(fresh_root))
    assert str(odd) in str(error.value)
    assert 'group_by_patient=False' in str(error.value)
    # ... unless the per-image split is asked for.
    assert len(CNMC2019(str(fresh_root), group_by_patient=False)) > 0


def test_corrupt_image_is_named(fresh_root):
    bad = fresh_root / 'training_data/fold_2/hem/UID_H3_0_1_hem.bmp'
    bad.write_bytes(b'not a bitmap')
    with pytest.raises(OSError, match='1 of 60') as error:
        CNMC2019(str(fresh_root), split='all', check_images=True)
    assert str(bad) in str(error.value)
    # Unchecked, the loader itself names the file when it is reached.
    dataset = CNMC2019(str(fresh_root), split='all', pipeline=PIPELINE)
    index = [
        dataset.get_data_info(i)['img_path'] for i in range(len(dataset))
    ].index(str(bad))
    with pytest.raises(AssertionError, match=str(bad)):
        dataset[index]


def write_preliminary(folder,
                      rows,
                      header=('Patient_ID', 'new_names', 'labels')):
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / 'labels.csv'
    with open(csv_path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return csv_path


PRELIMINARY_ROWS = [('UID_57_29_1_all.bmp', '1.bmp', 1),
                    ('UID_H49_35_1_hem.bmp', '2.bmp', 0),
                    ('UID_57_30_1_all.bmp', '3.bmp', 1)]


def test_reads_preliminary_csv(tmp_path):
    img_dir = tmp_path / 'prelim' / 'images'
    img_dir.mkdir(parents=True)
    for _, name, label in PRELIMINARY_ROWS:
        write_image(img_dir / name, value=label * 200)
    csv_path = write_preliminary(tmp_path / 'prelim', PRELIMINARY_ROWS)
    dataset = CNMC2019(
        str(tmp_path),
        split='train',
        preliminary_csv='prelim/labels.csv',
        preliminary_img_dir=str(img_dir),
        pipeline=PIPELINE)
    assert len(dataset) == 3
    assert labels_of(dataset) == [1, 0, 1]
    assert [dataset.get_data_info(i)['patient_id']
            for i in range(3)] == ['57', 'H49', '57']
    assert dataset.get_data_info(1)['img_path'] == str(img_dir / '2.bmp')
    assert dataset[0]['inputs'][:, 4, 4].tolist() == [200, 200, 200]
    # Without preliminary_img_dir the images are looked up beside the CSV.
    with pytest.raises(FileNotFoundError, match='line 2') as error:
        CNMC2019(str(tmp_path), preliminary_csv=str(csv_path))
    assert str(tmp_path / 'prelim' / '1.bmp') in str(error.value)


def test_preliminary_csv_errors_name_file_and_column(tmp_path):
    write_image(tmp_path / '1.bmp')
    with pytest.raises(FileNotFoundError, match='missing.csv'):
        CNMC2019(str(tmp_path), preliminary_csv='missing.csv')
    csv_path = write_preliminary(
        tmp_path, [('UID_1_1_1_all.bmp', '1.bmp')],
        header=('Patient_ID', 'new_names'))
    with pytest.raises(ValueError, match="'labels'") as error:
        CNMC2019(str(tmp_path), preliminary_csv=str(csv_path))
    assert str(csv_path) in str(error.value)
    csv_path = write_preliminary(tmp_path,
                                 [('UID_1_1_1_all.bmp', '1.bmp', 'blast')])
    with pytest.raises(ValueError, match='line 2.*blast') as error:
        CNMC2019(str(tmp_path), preliminary_csv=str(csv_path))
    assert str(csv_path) in str(error.value)
    csv_path = write_preliminary(tmp_path,
                                 [('UID_1_1_1_all.bmp', '1.bmp', '1'),
                                  ('UID_1_2_1_all.bmp', '1.bmp', '0')])
    with pytest.raises(ValueError, match=r"line 3: image '1.bmp' is listed "
                       r'twice \(first on line 2\)') as error:
        CNMC2019(str(tmp_path), preliminary_csv=str(csv_path))
    assert str(csv_path) in str(error.value)


def test_base_config_values_and_pipelines(cnmc_root):
    cfg = Config.fromfile(CONFIG)
    assert cfg.data_preprocessor.num_classes == 2
    assert cfg.data_preprocessor.to_rgb is True
    assert cfg.train_pipeline[1].type == 'RandomResizedCrop'
    assert cfg.train_pipeline[1].scale == 224
    assert cfg.test_pipeline[1].scale == (224, 224)
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_dataloader.sampler.shuffle is True
    assert [
        cfg[f'{s}_dataloader'].dataset.split for s in ('train', 'val', 'test')
    ] == ['train', 'val', 'test']
    assert cfg.val_evaluator.type == 'MedicalMetric'
    for name in ('train', 'test'):
        dataset_cfg = cfg[f'{name}_dataloader'].dataset
        dataset_cfg.data_root = cnmc_root
        dataset = DATASETS.build(dataset_cfg)
        assert tuple(dataset[0]['inputs'].shape) == (3, 224, 224)
