import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import mmengine
import numpy as np
import pytest
import torch

from medkd.apis import build_runner, enable_amp
from medkd.utils.checkpoint import safe_load
from conftest import free_port, run_tool, tiny_runner_cfg, write_tiny_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_teacher_kd_extract_student_and_test_out(tmp_path, monkeypatch):
    data = tmp_path / 'data'
    teacher_cfg = write_tiny_config(tmp_path / 'teacher.py',
                                    'configs/demo/resnet18_teacher_cells.py',
                                    data)
    run_tool(monkeypatch, 'train.py', teacher_cfg, '--work-dir',
             tmp_path / 'teacher')
    teacher_ckpt = tmp_path / 'teacher' / 'epoch_1.pth'

    kd_cfg = write_tiny_config(tmp_path / 'kd.py',
                               'configs/demo/kd_resnet18_convnet_cells.py',
                               data)
    run_tool(monkeypatch, 'train.py', kd_cfg, '--work-dir', tmp_path / 'kd',
             '--cfg-options', f'model.teachers.resnet18.ckpt={teacher_ckpt}')
    kd_ckpt = tmp_path / 'kd' / 'epoch_1.pth'
    # the distiller checkpoint names the teacher it was given, by SHA-256,
    # instead of storing its weights
    kd = safe_load(str(kd_ckpt))
    assert kd['meta']['teacher_files']['resnet18'] == dict(
        ckpt=str(teacher_ckpt),
        sha256=hashlib.sha256(teacher_ckpt.read_bytes()).hexdigest())
    assert not [k for k in kd['state_dict'] if k.startswith('teachers.')]

    student_ckpt = tmp_path / 'student.pth'
    run_tool(monkeypatch, 'model_converters/extract_student.py', kd_ckpt,
             student_ckpt)
    student_cfg = write_tiny_config(tmp_path / 'student.py',
                                    'configs/demo/convnet_student_cells.py',
                                    data)
    run_tool(monkeypatch, 'test.py', student_cfg, student_ckpt, '--work-dir',
             tmp_path / 'test_student', '--out', tmp_path / 'student.pkl')
    run_tool(monkeypatch, 'test.py', kd_cfg, kd_ckpt, '--work-dir',
             tmp_path / 'test_kd', '--out', tmp_path / 'kd.pkl',
             '--cfg-options', f'model.teachers.resnet18.ckpt={teacher_ckpt}')
    student_preds = mmengine.load(tmp_path / 'student.pkl')
    kd_preds = mmengine.load(tmp_path / 'kd.pkl')
    assert len(student_preds) == len(kd_preds) == 16  # 4 classes x 4
    # the student keeps the distiller's calibration (temperature scaling)
    assert safe_load(str(student_ckpt))['meta']['calibration'] == kd[
        'meta']['calibration']
    assert 'pred_score_uncalibrated' in student_preds[0]
    np.testing.assert_allclose(
        np.stack([p['pred_score'] for p in student_preds]),
        np.stack([p['pred_score'] for p in kd_preds]),
        atol=1e-6)


def dist_train(cfg, work_dir, port, *args):
    """``bash tools/dist_train.sh CFG 2 --work-dir WORK ARGS`` on the CPU."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port))
    command = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg, '2',
               '--work-dir', str(work_dir), *args]
    result = subprocess.run(command, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_dist_train_two_processes_on_cpu_and_resume(tmp_path):
    cfg = write_tiny_config(tmp_path / 'student.py',
                            'configs/demo/convnet_student_cells.py',
                            tmp_path / 'data')
    work = tmp_path / 'work'
    output = dist_train(cfg, work, 29517)
    assert 'Distributed training: True' in output
    checkpoint = safe_load(str(work / 'epoch_1.pth'))
    # 32 training images, 2 processes x batch 8: 2 iterations per epoch
    assert checkpoint['meta']['iter'] == 2

    output = dist_train(cfg, work, 29518, '--resume', '--cfg-options',
                        'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1, iter: 2' in output
    assert safe_load(str(work / 'epoch_2.pth'))['meta']['iter'] == 4


def test_amp_on_cpu_uses_bf16_autocast(tmp_path):
    cfg = tiny_runner_cfg(
        'configs/demo/kd_resnet18_convnet_cells.py',
        tmp_path / 'amp',
        tmp_path / 'data',
        epochs=1)
    cfg.model.teachers.resnet18.ckpt = None
    if torch.cuda.is_available():
        pytest.skip('checks the CPU path')
    enable_amp(cfg)
    runner = build_runner(cfg)
    seen = {}
    student = runner.model.student
    student.register_forward_hook(lambda m, i, o: seen.update(dtype=o.dtype))
    runner.train()
    assert type(runner.optim_wrapper).__name__ == 'CPUAutocastOptimWrapper'
    assert seen['dtype'] == torch.bfloat16
    assert runner.iter == 4


def test_build_teacher_cache_tool_then_training_reuses_it(
        tmp_path, monkeypatch):
    cfg = write_tiny_config(
        tmp_path / 'kd.py',
        'configs/demo/kd_resnet18_convnet_cells.py',
        tmp_path / 'data',
        extra='teacher_cache = dict(num_views=2)\n'
        'model = dict(teachers=dict(resnet18=dict(ckpt=None)))')
    run_tool(monkeypatch, 'build_teacher_cache.py', cfg, '--work-dir',
             tmp_path / 'work')
    (built, ) = list((tmp_path / 'work' / 'teacher_cache').glob('*.f16'))
    mtime = built.stat().st_mtime_ns
    run_tool(monkeypatch, 'train.py', cfg, '--work-dir', tmp_path / 'work')
    assert built.stat().st_mtime_ns == mtime
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_benchmark_step_writes_all_modes(tmp_path, monkeypatch):
    out = tmp_path / 'bench.json'
    run_tool(monkeypatch, 'analysis_tools/benchmark_step.py', '--method',
             'gated', '--batch', 2, '--image-size', 16, '--warmup', 1,
             '--rounds', 1, '--steps', 1, '--json', out)
    record = json.loads(out.read_text())
    result = record['results']
    for mode in ('student_only', 'free_teacher', 'live_teacher',
                 'cached_teacher'):
        assert result[f'{mode}_s'] > 0
        assert f'| {mode} ' in record['table']  # the printed table
    assert record['command'].startswith('python ') and \
        record['code_fingerprint']
    # the command's wall time, not a time stamp (the timing loop's own
    # `start` used to shadow the command's)
    assert 0 < record['wall_seconds'] < 600
    assert result['cached_over_free'] == pytest.approx(
        result['cached_teacher_s'] / result['free_teacher_s'])


def test_dist_train_builds_the_teacher_cache_in_shards(tmp_path):
    """Two ranks build the cache in halves, then train the second epoch
    with the teacher's weights released on both."""
    from mmengine.config import Config

    from medkd.registry import MODELS
    teacher = MODELS.build(Config.fromfile(osp.join(
        ROOT, 'configs/demo/kd_resnet18_convnet_cells.py')).resnet18_cells)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    cfg = write_tiny_config(
        tmp_path / 'kd.py',
        'configs/demo/kd_resnet18_convnet_cells.py',
        tmp_path / 'data', epochs=2,
        extra='teacher_cache = dict(num_views=2, build="all")\n'
        f'model = dict(teachers=dict(resnet18=dict(ckpt={ckpt!r})))\n'
        'randomness = dict(seed=0)')
    output = dist_train(cfg, tmp_path / 'work', free_port())
    assert 'released the weights of resnet18' in output
    assert safe_load(str(tmp_path / 'work' / 'epoch_2.pth'))['meta'][
        'iter'] == 4
    (meta, ) = (tmp_path / 'work' / 'teacher_cache').glob('*.json')
    info = json.loads(meta.read_text())
    assert info['complete'] and info['shape'] == [64, 4]  # one teacher
    rows = np.fromfile(
        str(meta).replace('.json', '.f16'), dtype=np.float16).reshape(64, 4)
    # both ranks wrote their half: no row left at its zero initialisation
    assert (np.abs(rows).sum(1) > 0).all()


def test_dist_train_two_nodes_on_loopback(tmp_path):
    """Two ``tools/dist_train.sh`` launchers, one process each, as two nodes
    (NNODES=2, NODE_RANK=0/1) meeting at MASTER_ADDR=127.0.0.1:PORT."""
    cfg = write_tiny_config(tmp_path / 'student.py',
                            'configs/demo/convnet_student_cells.py',
                            tmp_path / 'data')
    work = tmp_path / 'work'
    port = free_port()
    nodes = []
    for node in (0, 1):
        env = dict(os.environ, PYTHON=sys.executable, NNODES='2',
                   NODE_RANK=str(node), MASTER_ADDR='127.0.0.1',
                   PORT=str(port))
        nodes.append(subprocess.Popen(
            ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg, '1',
             '--work-dir', str(work)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-3000:]
    assert 'world_size: 2' in outputs[0] or 'Distributed training: True' in \
        outputs[0]
    # 32 training images over 2 nodes x batch 8: 2 iterations per epoch
    assert safe_load(str(work / 'epoch_1.pth'))['meta']['iter'] == 2


def test_slurm_train_passes_its_variables_to_srun(tmp_path):
    """tools/slurm_train.sh, dry: a stand-in srun prints its arguments."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'srun').write_text(
        '#!/usr/bin/env bash\nfor a in "$@"; do echo "ARG $a"; done\n')
    (fake / 'srun').chmod(0o755)
    env = dict(os.environ, PATH=f'{fake}{os.pathsep}{os.environ["PATH"]}',
               GPUS='4', GPUS_PER_NODE='2', CPUS_PER_TASK='3',
               SRUN_ARGS='--time=10', PYTHON='mypython')
    done = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), 'gpu', 'job1',
         'configs/x.py', 'work_dirs/x', '--amp', '--resume'],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    args = [line[4:] for line in done.stdout.splitlines()
            if line.startswith('ARG ')]
    assert args[:9] == [
        '-p', 'gpu', '--job-name=job1', '--gres=gpu:2', '--ntasks=4',
        '--ntasks-per-node=2', '--cpus-per-task=3', '--kill-on-bad-exit=1',
        '--time=10']
    assert args[9:] == [
        'mypython', '-u', 'tools/train.py', 'configs/x.py',
        '--work-dir=work_dirs/x', '--launcher=slurm', '--amp', '--resume']


def test_benchmark_step_memory_per_mode_shows_the_teacher_released(
        tmp_path, monkeypatch):
    """Each mode in a process of its own: the cached step holds about the
    student's memory, the free / live ones also the ResNet-18 teacher's
    weights (11.18 M parameters, 42.6 MB)."""
    out = tmp_path / 'bench.json'
    run_tool(monkeypatch, 'analysis_tools/benchmark_step.py', '--method',
             'kd', '--batch', 2, '--image-size', 16, '--warmup', 1,
             '--rounds', 1, '--steps', 1, '--memory', '--json', out)
    memory = json.loads(out.read_text())['results']['peak_memory_mb']
    assert set(memory) == {'student_only', 'free_teacher', 'live_teacher',
                           'cached_teacher'}
    teacher_mb = 11_178_564 * 4 / 2**20  # the teacher's parameters, float32
    assert memory['free_teacher'] - memory['cached_teacher'] > \
        0.8 * teacher_mb
    assert memory['cached_teacher'] - memory['student_only'] < \
        0.2 * teacher_mb
