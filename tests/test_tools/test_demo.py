"""tools/demo.py: the README's main job, shortened to one epoch a stage."""
import os.path as osp
import runpy
import sys

import torch

from medkd.utils.checkpoint import safe_load

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_demo_kd_trains_three_models_and_reuses_finished_stages(
        tmp_path, monkeypatch, caplog):
    argv = ['demo.py', '--method', 'kd', '--epochs', '1', '--work-dir',
            str(tmp_path / 'demo'), '--data-root', str(tmp_path / 'data')]
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'), run_name='__main__')
    teacher = safe_load(
        str(tmp_path / 'demo' / 'resnet18_teacher_cells' / 'epoch_1.pth'))
    kd = safe_load(
        str(tmp_path / 'demo' / 'kd' / 'kd_resnet18_convnet_cells' /
            'epoch_1.pth'))
    # the KD stage distilled from the teacher stage's final checkpoint
    for key, value in teacher['state_dict'].items():
        assert torch.equal(kd['state_dict'][f'teachers.resnet18.{key}'],
                           value)
    mtime = osp.getmtime(tmp_path / 'demo' / 'resnet18_teacher_cells' /
                         'epoch_1.pth')
    runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'), run_name='__main__')
    assert osp.getmtime(tmp_path / 'demo' / 'resnet18_teacher_cells' /
                        'epoch_1.pth') == mtime  # reused, not retrained
