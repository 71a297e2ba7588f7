"""The config in docs/tutorials/new_dataset.md trains on a folder tree."""
import os.path as osp
import re

import cv2
import numpy as np

from medkd.utils.config import load_config
from medkd.apis import build_runner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'tutorials', 'new_dataset.md')


def test_documented_folder_dataset_config_trains(tmp_path, monkeypatch):
    # the tutorial's two files as written, in a project folder outside the
    # repository, run from there
    blocks = re.findall(r'```python\n(.*?)```', open(DOC).read(), re.S)
    kd, teacher = blocks[:2]
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'resnet18_teacher_my_cells.py').write_text(teacher)
    code = kd
    rng = np.random.default_rng(0)
    for split in ('train', 'val', 'test'):
        for c, name in enumerate(('blast', 'normal', 'other')):
            folder = tmp_path / 'data' / 'my_cells' / split / name
            folder.mkdir(parents=True)
            for i in range(2):
                image = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / f'{i}.png'), image)
    (tmp_path / 'cfg.py').write_text(code)
    cfg = load_config(str(tmp_path / 'cfg.py'))
    assert cfg.train_dataloader.dataset.type == 'CustomDataset'
    assert 'num_per_class' not in cfg.train_dataloader.dataset
    assert set(cfg.model.teachers.resnet18) == {'config', 'ckpt'}
    cfg.model.teachers.resnet18.ckpt = None
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_epochs = 1
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].update(num_workers=0, batch_size=3)
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2  # 6 training images, batch 3
    assert runner.train_dataloader.dataset.metainfo['classes'] == (
        'blast', 'normal', 'other')
    # the teacher was built from its own training config: 3 classes
    assert runner.model.teachers.resnet18.model.head.num_classes == 3
    teacher_cfg = load_config(str(tmp_path /
                                      'resnet18_teacher_my_cells.py'))
    assert teacher_cfg.train_dataloader.dataset.type == 'CustomDataset'
