"""Finished runs are reused only when the config and its teacher files are
the same (medkd.apis.run_seed), and tools/demo.py puts a stage that two
methods share in one folder."""
import os
import os.path as osp
import runpy

import torch

from conftest import tiny_runner_cfg
from medkd.apis import run_seed

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KD = 'configs/demo/kd_convnet_wide_convnet_cells.py'


def mtime(path):
    return os.stat(path).st_mtime_ns


def test_run_seed_retrains_when_the_config_or_a_teacher_file_changes(
        tmp_path, monkeypatch):
    teacher = tmp_path / 'teacher.pth'
    # a "teacher" checkpoint: any classifier of the teacher's architecture
    # with random weights, saved as mmengine does
    from medkd.registry import MODELS
    cfg = tiny_runner_cfg(KD, tmp_path / 'unused', tmp_path / 'data',
                          epochs=1)
    cfg.model.teachers.convnet_wide.ckpt = str(teacher)
    net = MODELS.build(
        tiny_runner_cfg('configs/demo/convnet_wide_teacher_cells.py',
                        tmp_path / 'unused', tmp_path / 'data').model)
    torch.save(dict(state_dict=net.state_dict(), meta={}), teacher)
    work = tmp_path / 'kd'
    first = run_seed(cfg, str(work), seed=0)
    ckpt = first['checkpoint']
    stamp = mtime(ckpt)
    # the same config and teacher file: reused, not retrained
    assert run_seed(cfg, str(work), seed=0) == first
    assert mtime(ckpt) == stamp
    # the teacher checkpoint's bytes changed (same path): retrained
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.5)
    torch.save(dict(state_dict=net.state_dict(), meta={}), teacher)
    second = run_seed(cfg, str(work), seed=0)
    assert mtime(ckpt) != stamp
    assert second['fingerprint'] != first['fingerprint']
    stamp = mtime(ckpt)
    # a config setting changed: retrained as well
    cfg.optim_wrapper.optimizer.lr = 1e-4
    third = run_seed(cfg, str(work), seed=0)
    assert mtime(ckpt) != stamp
    assert third['fingerprint'] not in (first['fingerprint'],
                                        second['fingerprint'])
    # medkd's code changed (another version or module source): retrained
    import medkd.apis.seeds as seeds
    stamp = mtime(ckpt)
    with monkeypatch.context() as patch:
        patch.setattr(seeds, 'code_fingerprint', lambda: 'f' * 64)
        fourth = run_seed(cfg, str(work), seed=0)
    assert mtime(ckpt) != stamp and fourth['fingerprint'] != third[
        'fingerprint']
    # a run dir whose metrics are missing but whose checkpoint is of
    # another config is not taken as finished either
    os.remove(work / 'seed_metrics.json')
    stamp = mtime(ckpt)
    cfg.optim_wrapper.optimizer.lr = 2e-4
    run_seed(cfg, str(work), seed=0)
    assert mtime(ckpt) != stamp


def test_the_code_fingerprint_follows_medkds_source(tmp_path, monkeypatch):
    """Any byte of a medkd module changes it; so does the version."""
    import shutil

    import medkd
    import medkd.apis.seeds as seeds
    before = seeds.code_fingerprint()
    assert before == seeds.code_fingerprint()
    copy = tmp_path / 'medkd'
    shutil.copytree(osp.dirname(medkd.__file__), copy, symlinks=True)
    monkeypatch.setattr(medkd, '__file__', str(copy / '__init__.py'))
    assert seeds.code_fingerprint() == before
    with open(copy / 'models' / 'calibration.py', 'a') as f:
        f.write('\n# changed\n')
    changed = seeds.code_fingerprint()
    assert changed != before
    monkeypatch.setattr(medkd, '__version__', '9.9.9')
    assert seeds.code_fingerprint() not in (before, changed)


def test_demo_methods_share_a_stage_with_the_same_config_and_teachers():
    demo = runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'), run_name='demo')
    owner, methods = demo['stage_owner'], demo['METHODS']

    def stage(method, config):
        return next(s for s in methods[method] if s[1] == config)

    dist_wide = 'dist_convnet_wide_convnet_cells.py'
    # gated's DIST student of the wide convnet is kd's (same teacher stage
    # config, differently named) ...
    assert owner('gated', stage('gated', dist_wide)) == 'kd'
    assert owner('kd', stage('kd', dist_wide)) == 'kd'
    # ... checkpoint_sequence's distils from another teacher (the route one)
    assert owner('checkpoint_sequence',
                 stage('checkpoint_sequence', dist_wide)) == \
        'checkpoint_sequence'
    assert owner('gated', stage('gated', 'dist_resnet18_convnet_cells.py')) \
        == 'gated'
    # stages without teachers are shared by every method (no method folder)
    assert owner('gated', stage('gated', 'convnet_student_cells.py')) is None
