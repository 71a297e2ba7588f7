"""Distiller checkpoints are student-sized: frozen teachers are stored as
their file's path and SHA-256 (meta['teacher_files']), re-loaded from the
files on resume / load_from and refused when a file changed; tools/test.py
needs only the distiller checkpoint."""
import hashlib
import os
import os.path as osp

import pytest
import torch

from conftest import run_tool, tiny_runner_cfg, write_tiny_config
from medkd.apis import build_runner
from medkd.engine.hooks import TeacherFileChangedError
from medkd.registry import MODELS
from medkd.utils.checkpoint import safe_load

KD = 'configs/demo/kd_convnet_wide_convnet_cells.py'
STUDENT = 'configs/demo/convnet_student_cells.py'
TEACHER = 'configs/demo/convnet_wide_teacher_cells.py'


def sha256(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def save_teacher(tmp_path, name='teacher.pth', seed=0):
    """A teacher checkpoint (random weights of the teacher's architecture,
    saved as mmengine saves a classifier)."""
    torch.manual_seed(seed)
    net = MODELS.build(
        tiny_runner_cfg(TEACHER, tmp_path, tmp_path / 'data').model)
    net.init_weights()
    path = tmp_path / name
    torch.save(dict(state_dict=net.state_dict(), meta={}), path)
    return str(path), net.state_dict()


@pytest.fixture
def kd_run(tmp_path):
    teacher, weights = save_teacher(tmp_path)
    cfg = tiny_runner_cfg(KD, tmp_path / 'kd', tmp_path / 'data', epochs=2)
    cfg.model.teachers.convnet_wide.ckpt = teacher
    build_runner(cfg).train()
    return cfg, teacher, weights


def test_checkpoint_names_the_teacher_file_instead_of_its_weights(
        kd_run, tmp_path):
    cfg, teacher, _ = kd_run
    checkpoint = safe_load(str(tmp_path / 'kd' / 'epoch_2.pth'))
    assert not [k for k in checkpoint['state_dict']
                if k.startswith('teachers.')]
    assert [k for k in checkpoint['state_dict'] if k.startswith('student.')]
    assert checkpoint['meta']['teacher_files'] == {
        'convnet_wide': dict(ckpt=teacher, sha256=sha256(teacher))}
    # about the size of the student alone's checkpoint (same optimizer;
    # the rest is the longer config text and logged history in meta), far
    # from student + teacher
    alone = tiny_runner_cfg(STUDENT, tmp_path / 'alone', tmp_path / 'data',
                            epochs=2)
    build_runner(alone).train()
    kd_size = osp.getsize(tmp_path / 'kd' / 'epoch_2.pth')
    alone_size = osp.getsize(tmp_path / 'alone' / 'epoch_2.pth')
    teacher_size = osp.getsize(teacher)
    assert teacher_size > 5 * alone_size
    assert kd_size < alone_size + teacher_size / 4, (kd_size, alone_size)


def test_resume_reloads_the_teacher_from_its_file(kd_run, tmp_path):
    cfg, teacher, weights = kd_run
    cfg.train_cfg.max_epochs = 3
    cfg.resume, cfg.load_from = True, str(tmp_path / 'kd' / 'epoch_2.pth')
    runner = build_runner(cfg)
    runner.train()
    assert runner.epoch == 3
    held = runner.model.teachers.convnet_wide.model.state_dict()
    for key, value in weights.items():
        assert torch.equal(held[key], value)
    # the new checkpoint still names the file (its weights are unchanged)
    checkpoint = safe_load(str(tmp_path / 'kd' / 'epoch_3.pth'))
    assert checkpoint['meta']['teacher_files']['convnet_wide'][
        'sha256'] == sha256(teacher)


def test_a_changed_teacher_file_is_refused_naming_teacher_and_file(
        kd_run, tmp_path):
    cfg, teacher, _ = kd_run
    save_teacher(tmp_path, seed=1)  # another teacher, same path
    cfg.train_cfg.max_epochs = 3
    cfg.resume, cfg.load_from = True, str(tmp_path / 'kd' / 'epoch_2.pth')
    with pytest.raises(TeacherFileChangedError,
                       match=r'teachers\.convnet_wide = .*teacher\.pth'):
        build_runner(cfg).train()
    # load_from (no resume) too
    cfg.resume = False
    with pytest.raises(TeacherFileChangedError, match='convnet_wide'):
        build_runner(cfg).train()


def test_test_tool_needs_only_the_distiller_checkpoint(kd_run, tmp_path,
                                                      monkeypatch, capsys):
    cfg, teacher, _ = kd_run
    ckpt = tmp_path / 'kd' / 'epoch_2.pth'
    config = write_tiny_config(
        tmp_path / 'kd_test.py', KD, tmp_path / 'data',
        extra='model = dict(teachers=dict(convnet_wide=dict('
        f'ckpt={teacher!r})))')
    run_tool(monkeypatch, 'test.py', config, ckpt, '--work-dir',
             tmp_path / 't1', '--out', tmp_path / 'with.pkl')
    os.rename(teacher, teacher + '.moved')  # the teacher file is gone
    capsys.readouterr()
    run_tool(monkeypatch, 'test.py', config, ckpt, '--work-dir',
             tmp_path / 't2', '--out', tmp_path / 'without.pkl')
    assert 'are not loaded' in capsys.readouterr().out
    from medkd.evaluation.dumped_results import load_predictions
    with_teacher = load_predictions(str(tmp_path / 'with.pkl'))
    without = load_predictions(str(tmp_path / 'without.pkl'))
    assert (with_teacher.scores == without.scores).all()
    # scoring the teachers needs their files, and says which is missing
    with pytest.raises(Exception, match='teacher.pth'):
        run_tool(monkeypatch, 'test.py', config, ckpt, '--work-dir',
                 tmp_path / 't3', '--cfg-options', 'model.eval_teachers=True')


def test_an_older_checkpoint_with_teacher_weights_still_loads(kd_run,
                                                             tmp_path):
    cfg, teacher, weights = kd_run
    model = MODELS.build(cfg.model)
    # teacher weights stored in the checkpoint (as medkd saved them before)
    # are the ones loaded, not the file's
    stored = {k: v + 1 if v.is_floating_point() else v
              for k, v in weights.items()}
    full = {**{f'teachers.convnet_wide.{k}': v for k, v in stored.items()},
            **model.student.state_dict(prefix='student.')}
    model.load_state_dict(full, strict=True)
    held = model.teachers.convnet_wide.model.state_dict()
    for key, value in stored.items():
        assert torch.equal(held[key], value)
