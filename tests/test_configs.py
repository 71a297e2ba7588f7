"""Every config under configs/ loads and its model builds (teacher
checkpoints blanked), and its class counts agree."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from medkd.apis.stages import load_chain
from medkd.models.head_kind import head_num_classes
from medkd.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True)
    if '_base_' not in p.split(osp.sep))


def test_there_are_configs():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize('config', CONFIGS)
def test_config_loads_and_builds(config):
    path = osp.join(ROOT, config)
    cfg = Config.fromfile(path)
    if 'model' not in cfg and 'stages' in cfg:
        # a chain config (tools/train_chain.py): its stages are configs
        # tested on their own; here they must exist and link up
        chain = load_chain(path)
        for stage in chain.stages:
            stage_path = osp.join(osp.dirname(path), stage['config'])
            assert osp.isfile(stage_path), f'{config}: {stage_path}'
            stage_cfg = Config.fromfile(stage_path)
            for teacher in stage.get('teachers') or {}:
                assert teacher in stage_cfg.model.teachers, (config, teacher)
        return
    assert cfg.default_scope == 'medkd'
    for split in ('train', 'val', 'test'):
        assert f'{split}_dataloader' in cfg, f'{config}: no {split} loader'
    model_cfg = cfg.model
    for teacher in model_cfg.get('teachers', {}).values():
        teacher.ckpt = None
    model_cfg.pop('route', None)  # CheckpointSequence's teacher route
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    student = getattr(model, 'student', model)
    num_classes = head_num_classes(student)
    num_classes = getattr(student, 'num_classes', num_classes)
    if num_classes is None:  # classifier inside the backbone (InceptionV3)
        student.eval()
        logits = student(torch.zeros(1, 3, 96, 96), mode='tensor')
        num_classes = logits.shape[1]
    assert num_classes == cfg.data_preprocessor.num_classes, config
