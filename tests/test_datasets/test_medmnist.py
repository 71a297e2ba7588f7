import numpy as np
import pytest

from medkd.datasets import MedMNIST

PIPELINE = [dict(type='PackInputs')]


def _write(path, gray=False, multi_label=False, n=(5, 2, 3), side=8,
           classes=8):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in zip(('train', 'val', 'test'), n):
        shape = (count, side, side) if gray else (count, side, side, 3)
        arrays[f'{split}_images'] = rng.integers(0, 255, shape, np.uint8)
        arrays[f'{split}_labels'] = (
            rng.integers(0, 2, (count, 14))
            if multi_label else np.arange(count).reshape(-1, 1) % classes)
    np.savez(path, **arrays)
    return arrays


def test_single_label_rgb_with_size_suffix(tmp_path):
    arrays = _write(tmp_path / 'bloodmnist_64.npz')
    ds = MedMNIST(
        str(tmp_path), 'bloodmnist', size=64, split='test', pipeline=PIPELINE)
    assert len(ds) == 3
    assert ds.metainfo['classes'][0] == 'basophil'
    assert len(ds.metainfo['classes']) == 8
    item = ds[2]
    assert item['inputs'].shape == (3, 8, 8)
    assert item['data_samples'].gt_label.item() == 2
    np.testing.assert_array_equal(item['inputs'].permute(1, 2, 0).numpy(),
                                  arrays['test_images'][2])


def test_gray_images_become_rgb_and_multi_label_positives(tmp_path):
    arrays = _write(tmp_path / 'chestmnist.npz', gray=True, multi_label=True)
    ds = MedMNIST(
        str(tmp_path), 'chestmnist', split='train', pipeline=PIPELINE)
    assert len(ds.metainfo['classes']) == 14
    item = ds[1]
    assert item['inputs'].shape == (3, 8, 8)
    expected = np.flatnonzero(arrays['train_labels'][1]).tolist()
    assert item['data_samples'].gt_label.tolist() == expected


def test_errors_name_the_file_and_key(tmp_path):
    with pytest.raises(FileNotFoundError, match='pathmnist_128.npz'):
        MedMNIST(str(tmp_path), 'pathmnist', size=128)
    np.savez(
        tmp_path / 'pathmnist.npz', train_images=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(
            KeyError, match="pathmnist.npz has no "
            r"\['train_labels'\]"):
        MedMNIST(str(tmp_path), 'pathmnist')
    with pytest.raises(ValueError, match='split'):
        MedMNIST(str(tmp_path), 'pathmnist', split='holdout')


def test_demo_config_trains_on_a_bloodmnist_file(tmp_path):
    import os.path as osp

    from mmengine.config import Config

    from medkd.apis import build_runner
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    _write(tmp_path / 'bloodmnist_64.npz', n=(16, 8, 8))
    cfg = Config.fromfile(
        osp.join(root, 'configs/demo/resnet18_teacher_bloodmnist.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_epochs = 1
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.data_root = str(tmp_path)
        loader.update(batch_size=8, num_workers=0)
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2
    assert runner.train_dataloader.dataset.metainfo['classes'][-1] == \
        'platelet'


def test_every_split_sizes_and_shapes(tmp_path):
    _write(tmp_path / 'pathmnist.npz', n=(5, 2, 3))
    lengths = {
        split: len(MedMNIST(str(tmp_path), 'pathmnist', split=split))
        for split in ('train', 'val', 'test')
    }
    assert lengths == dict(train=5, val=2, test=3)
    ds = MedMNIST(str(tmp_path), 'pathmnist', size=28, split='val')
    info = ds.get_data_info(1)
    assert info['img'].shape == (8, 8, 3)
    assert info['img_shape'] == info['ori_shape'] == (8, 8)
    assert info['gt_label'] == 1 and ds.get_cat_ids(1) == [1]
    assert ds.metainfo['classes'][-1] == \
        'colorectal adenocarcinoma epithelium'


def test_resize_in_pipeline_and_gray_kept_without_as_rgb(tmp_path):
    _write(tmp_path / 'pneumoniamnist_64.npz', gray=True, classes=2)
    ds = MedMNIST(
        str(tmp_path),
        'pneumoniamnist',
        size=64,
        pipeline=[dict(type='ResizeEdge', scale=16),
                  dict(type='PackInputs')])
    item = ds[0]
    assert item['inputs'].shape == (3, 16, 16)
    assert item['data_samples'].ori_shape == (8, 8)
    gray = MedMNIST(
        str(tmp_path),
        'pneumoniamnist',
        size=64,
        as_rgb=False,
        pipeline=PIPELINE)
    assert gray[0]['inputs'].shape == (1, 8, 8)
    assert gray.metainfo['classes'] == ('normal', 'pneumonia')


def test_unknown_flag_gets_generic_classes_from_all_splits(tmp_path):
    _write(tmp_path / 'mynewmnist.npz', n=(3, 2, 8))
    ds = MedMNIST(str(tmp_path), 'mynewmnist', split='val')
    # Labels are index % 8; the test split holds 0..7, train only 0..2.
    assert ds.metainfo['classes'] == tuple(f'class_{i}' for i in range(8))
    multi = tmp_path / 'multi'
    multi.mkdir()
    _write(multi / 'mychestmnist.npz', multi_label=True)
    ds = MedMNIST(str(multi), 'mychestmnist')
    assert len(ds.metainfo['classes']) == 14
    assert ds.get_cat_ids(0) == ds.get_data_info(0)['gt_label']


def test_length_mismatch_and_bad_size(tmp_path):
    np.savez(
        tmp_path / 'bloodmnist.npz',
        train_images=np.zeros((3, 8, 8, 3), np.uint8),
        train_labels=np.zeros((2, 1), np.int64))
    with pytest.raises(ValueError, match='has 3 images but .* 2 rows'):
        MedMNIST(str(tmp_path), 'bloodmnist')
    with pytest.raises(ValueError, match='size must be one of'):
        MedMNIST(str(tmp_path), 'bloodmnist', size=32)


def test_a_label_outside_the_classes_names_file_split_and_row(tmp_path):
    _write(tmp_path / 'pneumoniamnist.npz', classes=5)  # it has 2
    with pytest.raises(ValueError,
                       match=r'pneumoniamnist.npz: train_labels row 2 is 2, '
                       r'expected a class index in \[0, 2\) '
                       r'\(pneumoniamnist has 2 classes\); 3 such row'):
        MedMNIST(str(tmp_path), 'pneumoniamnist', split='train',
                 pipeline=PIPELINE)


def test_in_memory_images_of_the_wrong_channel_count_stop_before_training(
        tmp_path):
    """MedMNIST's grey images without as_rgb give 1 channel: the pre-flight
    check (which reads the arrays' shapes) refuses them for a 3-channel
    model."""
    from medkd.datasets.preflight import find_bad_samples
    _write(tmp_path / 'pneumoniamnist.npz', gray=True, classes=2)
    gray = MedMNIST(str(tmp_path), 'pneumoniamnist', as_rgb=False,
                    pipeline=PIPELINE)
    bad = find_bad_samples(gray, expected_channels=3)
    assert [(i, kind) for i, _, kind in bad] == [(i, 'channels:1')
                                                 for i in range(5)]
    assert 'MedMNIST row 0 (in memory): 1 channel(s)' in bad[0][1]
    rgb = MedMNIST(str(tmp_path), 'pneumoniamnist', pipeline=PIPELINE)
    assert find_bad_samples(rgb, expected_channels=3) == []
