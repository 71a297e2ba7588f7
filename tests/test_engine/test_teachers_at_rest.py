"""With a complete teacher-output cache the teachers' weights are freed
during training and come back from their files when needed."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from medkd.apis import build_runner
from medkd.registry import MODELS
from conftest import shifted_checkpoint, tiny_runner_cfg

KD = 'configs/demo/kd_resnet18_convnet_cells.py'


def _weights(path):
    return torch.load(path, weights_only=True)['state_dict']


def teacher_bytes(model):
    return sum(p.untyped_storage().nbytes()
               for p in model.teachers.parameters())


class _Watch(Hook):
    """Teacher parameter bytes at every training iteration, per epoch."""

    def __init__(self):
        self.per_epoch = []

    def before_train_epoch(self, runner):
        self.per_epoch.append(set())

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.per_epoch[-1].add(teacher_bytes(runner.model))


def _run(tmp_path, name, ckpt, epochs=3, **cache):
    cfg = tiny_runner_cfg(KD, tmp_path / name, tmp_path / 'data',
                          epochs=epochs, teacher_cache=cache)
    cfg.model.teachers.resnet18.ckpt = ckpt
    runner = build_runner(cfg)
    watch = _Watch()
    runner.register_hook(watch)
    full = teacher_bytes(runner.model)
    runner.train()
    return runner, watch.per_epoch, full


def test_a_complete_cache_frees_the_teachers_and_changes_nothing(
        tmp_path, teacher_ckpt):
    path, weights = teacher_ckpt, _weights(teacher_ckpt)
    released, per_epoch, full = _run(tmp_path, 'released', path,
                                     num_views=2, build='all')
    assert full > 0
    assert per_epoch == [{0}, {0}, {0}]  # no teacher weights in any step
    kept, kept_epochs, _ = _run(tmp_path, 'kept', path, num_views=2,
                                build='all', release_teachers=False)
    assert kept_epochs == [{full}] * 3
    # the same training either way
    for (name, a), (_, b) in zip(released.model.student.state_dict().items(),
                                 kept.model.student.state_dict().items()):
        assert torch.equal(a, b), name
    # after training the teacher holds its file's weights again
    assert not released.model.teachers.resnet18.released
    for key, value in released.model.teachers.resnet18.model.state_dict(
    ).items():
        assert torch.equal(value, weights[key]), key


def test_a_lazy_cache_frees_them_once_every_pair_is_filled(
        tmp_path, teacher_ckpt):
    # one view per sample: the first epoch draws (and fills) every pair
    _, per_epoch, full = _run(tmp_path, 'lazy', teacher_ckpt,
                              num_views=1)
    assert per_epoch == [{full}, {0}, {0}]


def test_teachers_stay_when_validation_runs_them(tmp_path, teacher_ckpt):
    cfg = tiny_runner_cfg(KD, tmp_path / 'eval', tmp_path / 'data',
                          epochs=2, teacher_cache=dict(num_views=2,
                                                       build='all'))
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    cfg.model.eval_teachers = True
    runner = build_runner(cfg)
    watch = _Watch()
    runner.register_hook(watch)
    runner.train()
    assert 0 not in set().union(*watch.per_epoch)


def test_live_outputs_of_released_teachers_are_refused_by_name(
        tmp_path, teacher_ckpt):
    cfg = Config.fromfile(KD)
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    inputs = torch.rand(2, 3, 16, 16)
    before = model.teacher_logits(inputs)['resnet18']
    teacher = model.teachers.resnet18
    freed = teacher.release()
    assert freed == sum(v.numel() * v.element_size()
                        for k, v in _weights(teacher_ckpt).items()
                        if 'running' not in k and 'num_batches' not in k)
    with pytest.raises(RuntimeError, match=r'model.teachers.resnet18 is '
                       'released'):
        model.teacher_logits(inputs)
    assert teacher.restore() and not teacher.released
    torch.testing.assert_close(model.teacher_logits(inputs)['resnet18'],
                               before, rtol=0, atol=0)


def test_a_route_switch_restores_the_teacher_with_the_next_checkpoint(
        tmp_path, teacher_ckpt):
    """CheckpointSequence, build='all', a route of two checkpoints (the
    second adds 1 to every logit): released in every epoch, and the second
    cache holds the second checkpoint's outputs, so the switch loaded it
    into the restored teacher."""
    import glob

    import numpy as np
    path = teacher_ckpt
    second = shifted_checkpoint(path, tmp_path / 'route_2.pth')
    cfg = tiny_runner_cfg(
        'configs/demo/checkpoint_sequence_resnet18_convnet_cells.py',
        tmp_path / 'cs', tmp_path / 'data', epochs=3,
        teacher_cache=dict(num_views=2, build='all'))
    cfg.model.route = dict(checkpoints=[path, second], interval=1)
    runner = build_runner(cfg)
    watch = _Watch()
    runner.register_hook(watch)
    runner.train()
    assert watch.per_epoch == [{0}, {0}, {0}]
    files = sorted(glob.glob(str(tmp_path / 'cs' / 'teacher_cache' /
                                 '*.f16')), key=os.path.getmtime)
    first, then = (np.fromfile(f, dtype=np.float16).astype(np.float32)
                   for f in files)
    np.testing.assert_allclose(then - first, 1.0, atol=2e-2)


def test_teachers_stay_when_ema_averages_every_parameter(tmp_path,
                                                         teacher_ckpt):
    cfg = tiny_runner_cfg(KD, tmp_path / 'ema', tmp_path / 'data',
                          epochs=2, teacher_cache=dict(num_views=2,
                                                       build='all'))
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    cfg.custom_hooks = [dict(type='EMAHook')]
    runner = build_runner(cfg)
    watch = _Watch()
    runner.register_hook(watch)
    full = teacher_bytes(runner.model)
    runner.train()
    assert watch.per_epoch == [{full}, {full}]
    assert 'EMAHook averages all parameters' in open(
        runner.logger.log_file).read()
