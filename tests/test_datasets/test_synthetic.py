import csv
import json
import os
import os.path as osp
import threading

import cv2
import numpy as np
import pytest

import medkd.datasets  # noqa: F401  (registers the datasets)
from medkd.datasets import SyntheticCells, generate_synthetic_cells
from medkd.datasets.synthetic import (FOUR_MODALITIES,
                                      SYNTHETIC_CELL_ATTRIBUTES,
                                      synthetic_cell_classes,
                                      synthetic_cell_modalities)

TINY = dict(num_classes=3, num_per_class=(4, 2, 3), image_size=24)


def _rows(root, split):
    with open(osp.join(root, f'{split}.csv'), newline='') as f:
        return list(csv.DictReader(f))


def _pngs(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.png'):
                path = osp.join(folder, name)
                with open(path, 'rb') as f:
                    found[osp.relpath(path, root)] = f.read()
    return found


def test_class_names_and_modality_names():
    assert synthetic_cell_classes(2) == ('neutrophil', 'lymphocyte')
    names = synthetic_cell_classes(11)
    assert names[4] == 'basophil' and names[-1] == 'cell_type_10'
    assert len(set(names)) == 11
    assert synthetic_cell_modalities(4) == FOUR_MODALITIES
    assert synthetic_cell_modalities(1) == ('brightfield', )
    assert synthetic_cell_modalities(2) == ('mod0', 'mod1')
    with pytest.raises(ValueError, match='num_classes must be an int >= 2'):
        synthetic_cell_classes(1)


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    generate_synthetic_cells(str(tmp_path / 'a'), seed=3, **TINY)
    generate_synthetic_cells(str(tmp_path / 'b'), seed=3, **TINY)
    generate_synthetic_cells(str(tmp_path / 'c'), seed=4, **TINY)
    a, b, c = (_pngs(str(tmp_path / k)) for k in 'abc')
    assert len(a) == 3 * (4 + 2 + 3)
    assert a == b
    assert a.keys() == c.keys()
    assert sum(a[k] != c[k] for k in a) == len(a)
    for split in ('train', 'val', 'test'):
        assert _rows(str(tmp_path / 'a'), split) == \
            _rows(str(tmp_path / 'b'), split)


def test_class_folder_layout_csv_and_meta(tmp_path):
    root = str(tmp_path / 'cells')
    meta = generate_synthetic_cells(root, **TINY)
    classes = ['neutrophil', 'lymphocyte', 'eosinophil']
    assert meta['classes'] == classes
    assert meta['modalities'] == ['brightfield'] and meta['attributes'] == []
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f) == meta
    for split, per_class in zip(('train', 'val', 'test'), (4, 2, 3)):
        assert sorted(os.listdir(osp.join(root, split))) == sorted(classes)
        for name in classes:
            files = os.listdir(osp.join(root, split, name))
            assert len(files) == per_class
            assert all(f.startswith(f'{split}_') for f in files)
        rows = _rows(root, split)
        assert list(rows[0]) == ['id', 'label', 'brightfield']
        assert len(rows) == 3 * per_class
        for row in rows:
            folder = row['brightfield'].split('/')[1]
            assert classes[int(row['label'])] == folder
            assert row['brightfield'] == \
                f"{split}/{folder}/{row['id']}.png"
            img = cv2.imread(osp.join(root, row['brightfield']))
            assert img.shape == (24, 24, 3)
        assert meta['counts'][split] == {name: per_class for name in classes}


def test_multi_label_attributes_follow_but_do_not_equal_class(tmp_path):
    root = str(tmp_path / 'attr')
    generate_synthetic_cells(
        root,
        num_classes=4,
        num_per_class=(40, 1, 1),
        image_size=16,
        multi_label=True)
    rows = _rows(root, 'train')
    assert list(
        rows[0]) == ['id', 'label', *SYNTHETIC_CELL_ATTRIBUTES, 'brightfield']
    labels = np.array([int(r['label']) for r in rows])
    attrs = np.array([[int(r[a]) for a in SYNTHETIC_CELL_ATTRIBUTES]
                      for r in rows])
    assert set(np.unique(attrs)) == {0, 1}
    rate = np.stack([attrs[labels == c].mean(0) for c in range(4)])
    # Neutrophils have lobed nuclei far more often than lymphocytes;
    # eosinophils are granular far more often than lymphocytes.
    assert rate[0, 0] - rate[1, 0] > 0.3
    assert rate[2, 1] - rate[1, 1] > 0.4
    # ... but no attribute is a function of the class alone.
    assert ((rate > 0) & (rate < 1)).sum() >= 15

    dataset = SyntheticCells(
        data_root=root,
        split='train',
        num_classes=4,
        num_per_class=(40, 1, 1),
        image_size=16,
        multi_label=True)
    assert dataset.metainfo['classes'] == SYNTHETIC_CELL_ATTRIBUTES
    for i in (0, 50, 159):
        expected = np.flatnonzero(attrs[i]).tolist()
        assert dataset.get_data_info(i)['gt_label'] == expected
        assert dataset.get_cat_ids(i) == expected


def test_four_modalities_share_the_cell_geometry(tmp_path):
    root = str(tmp_path / 'mm')
    meta = generate_synthetic_cells(
        root,
        num_classes=4,
        num_per_class=(4, 1, 1),
        image_size=48,
        num_modalities=4)
    assert meta['modalities'] == list(FOUR_MODALITIES)
    rows = _rows(root, 'train')
    assert list(rows[0]) == ['id', 'label', *FOUR_MODALITIES]
    assert rows[0]['bf_red'] == 'train/bf_red/train_00000.png'

    def centroid(mask):
        ys, xs = np.nonzero(mask)
        return np.array([xs.mean(), ys.mean()])

    same_cell, other_cell = [], []
    previous = None
    for row in rows:
        imgs = {
            m: cv2.imread(osp.join(root, row[m]))
            for m in row if m in FOUR_MODALITIES
        }
        for m in ('bf_red', 'bf_green', 'bf_blue'):
            assert not np.array_equal(imgs['fluorescent'], imgs[m])
        assert not np.array_equal(imgs['bf_red'], imgs['bf_blue'])
        # The nucleus: brightest in fluorescence, darkest in green light.
        glow = imgs['fluorescent'].mean(2)
        green = imgs['bf_green'].mean(2)
        a = centroid(glow > glow.min() + 0.6 * np.ptp(glow))
        b = centroid(green < green.min() + 0.3 * np.ptp(green))
        same_cell.append(np.linalg.norm(a - b))
        if previous is not None:
            other_cell.append(np.linalg.norm(a - previous))
        previous = a
    assert max(same_cell) < 1.5
    assert np.median(other_cell) > 2 * max(same_cell)

    # the dataset reads the tree of its parameters under its data_root
    parent = osp.dirname(root)
    dataset = SyntheticCells(
        data_root=parent,
        split='train',
        num_classes=4,
        num_per_class=(4, 1, 1),
        image_size=48,
        num_modalities=4,
        modality='bf_green')
    root = dataset.data_root
    rows = _rows(root, 'train')
    assert dataset.get_data_info(5)['img_path'] == \
        osp.join(root, rows[5]['bf_green'])
    by_index = SyntheticCells(
        data_root=parent,
        num_classes=4,
        num_per_class=(4, 1, 1),
        image_size=48,
        num_modalities=4,
        modality=0)
    assert by_index.get_data_info(0)['img_path'].endswith(
        'train/fluorescent/train_00000.png')
    with pytest.raises(ValueError, match='modality must be .*bf_red'):
        SyntheticCells(data_root=root, num_modalities=4, modality='phase')


def test_existing_tree_is_reused_and_other_params_are_an_error(tmp_path):
    root = str(tmp_path / 'cells')
    meta = generate_synthetic_cells(root, **TINY)
    png = osp.join(root, 'train', 'neutrophil', 'train_00000.png')
    stamps = (os.stat(png).st_mtime_ns,
              os.stat(osp.join(root, 'meta.json')).st_mtime_ns)
    assert generate_synthetic_cells(root, **TINY) == meta
    SyntheticCells(data_root=root, split='val', **TINY)
    assert (os.stat(png).st_mtime_ns,
            os.stat(osp.join(root, 'meta.json')).st_mtime_ns) == stamps

    with pytest.raises(
            ValueError,
            match=r'cells was generated with other parameters '
            r'\(image_size: requested 32, found 24\)'):
        generate_synthetic_cells(root, **{**TINY, 'image_size': 32})
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'notes.txt').write_text('mine')
    with pytest.raises(FileNotFoundError, match='other .*no meta.json'):
        generate_synthetic_cells(str(tmp_path / 'other'), **TINY)


def test_concurrent_and_interrupted_generation_leave_whole_trees(
        tmp_path, monkeypatch):
    root = str(tmp_path / 'cells')
    metas = []
    threads = [
        threading.Thread(target=lambda: metas.append(
            generate_synthetic_cells(root, **TINY))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(metas) == 3 and metas[0] == metas[1] == metas[2]
    assert os.listdir(tmp_path) == ['cells']
    assert len(_pngs(root)) == 27

    calls = []

    def failing_imwrite(path, img):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return True

    monkeypatch.setattr(cv2, 'imwrite', failing_imwrite)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic_cells(str(tmp_path / 'broken'), **TINY)
    assert sorted(os.listdir(tmp_path)) == ['cells']


def test_dataset_through_pipeline(tmp_path):
    root = str(tmp_path / 'cells')
    dataset = SyntheticCells(
        data_root=root,
        split='test',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')],
        **TINY)
    assert len(dataset) == 9
    assert dataset.metainfo['classes'] == synthetic_cell_classes(3)
    assert dataset.get_cat_ids(8) == [2]
    info = dataset.get_data_info(4)
    assert osp.isabs(info['img_path']) and info['gt_label'] == 1
    item = dataset[4]
    assert tuple(item['inputs'].shape) == (3, 24, 24)
    assert item['data_samples'].gt_label.tolist() == [1]
    np.testing.assert_array_equal(item['inputs'].permute(1, 2, 0).numpy(),
                                  cv2.imread(info['img_path']))
    with pytest.raises(ValueError, match=r"one of \('train', 'val', 'test'\)"):
        SyntheticCells(data_root=root, split='holdout', **TINY)


def test_classes_differ_in_image_statistics_but_overlap(tmp_path):
    root = str(tmp_path / 'cells')
    generate_synthetic_cells(
        root, num_classes=4, num_per_class=(40, 0, 40), image_size=32)

    def features(split):
        rows = _rows(root, split)
        feats = []
        for row in rows:
            img = cv2.imread(osp.join(root, row['brightfield'])) / 255.
            feats.append(np.concatenate([img.mean((0, 1)), img.std((0, 1))]))
        return np.array(feats), np.array([int(r['label']) for r in rows])

    train_x, train_y = features('train')
    test_x, test_y = features('test')
    means = np.stack([train_x[train_y == c].mean(0) for c in range(4)])
    # Class means of the mean colour lie several pixel levels apart ...
    spread = np.linalg.norm(means[:, None, :3] - means[None, :, :3], axis=-1)
    assert spread[np.triu_indices(4, 1)].min() * 255 > 3
    # ... and a nearest-class-mean classifier on colour statistics is well
    # above chance (0.25) but far from perfect (0.54 at this seed).
    scale = train_x.std(0)
    dist = (((test_x[:, None] - means[None]) / scale)**2).sum(-1)
    accuracy = (dist.argmin(1) == test_y).mean()
    assert 0.4 < accuracy < 0.8


def test_every_parameter_set_has_its_own_tree_under_one_data_root(tmp_path):
    from medkd.datasets import SyntheticMultiModalCells
    root = str(tmp_path / 'shared')
    kw = dict(num_per_class=(2, 1, 1), image_size=16)
    # the mm_mimo demo first, then the kd demo, then other sizes / labels:
    # each used to fail on the other's folder
    mm = SyntheticMultiModalCells(data_root=root, num_modalities=4, **kw)
    plain = SyntheticCells(data_root=root, **kw)
    bigger = SyntheticCells(data_root=root, num_per_class=(3, 1, 1),
                            image_size=16)
    attrs = SyntheticCells(data_root=root, multi_label=True, **kw)
    dirs = {d.data_root for d in (mm, plain, bigger, attrs)}
    assert len(dirs) == 4 and all(osp.dirname(d) == root for d in dirs)
    assert all(osp.isfile(osp.join(d, 'meta.json')) for d in dirs)
    assert (len(plain), len(bigger)) == (8, 12)
