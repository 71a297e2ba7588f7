"""TeacherRouteSaverHook writes a teacher's route; TeacherSwitchHook walks a
CheckpointSequence student along it."""
import glob
import json
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub

from medkd.apis import build_runner
from medkd.engine.hooks import TeacherSwitchHook
from medkd.registry import MODELS
from conftest import tiny_classifier, tiny_runner_cfg

STUDENT = 'configs/demo/convnet_student_cells.py'
CS = 'configs/demo/checkpoint_sequence_resnet18_convnet_cells.py'
LR = 2e-3  # adam_demo.py


class Crash(Exception):
    pass


class CrashAfterEpoch(Hook):
    priority = 'LOWEST'  # after the CheckpointHook saved this epoch

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise Crash


class Recorder(Hook):
    """Per epoch: the teacher's weights when the epoch starts and ends, the
    LR, the logged route index and the student's Adam step count."""

    priority = 'LOW'  # after TeacherSwitchHook

    def __init__(self):
        self.start, self.end, self.lr, self.index = {}, {}, {}, {}
        self.steps = {}
        self.teacher_training = set()

    def before_train_epoch(self, runner):
        e = runner.epoch
        self.start[e] = _clone(runner.model.teachers.resnet18.model)
        self.lr[e] = runner.optim_wrapper.get_lr()['lr'][0]
        self.index[e] = runner.message_hub.get_scalar(
            'train/route_index').current()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.teacher_training.add(runner.model.teachers.training)

    def after_train_epoch(self, runner):
        e = runner.epoch
        self.end[e] = _clone(runner.model.teachers.resnet18.model)
        param = next(runner.model.student.parameters())
        self.steps[e] = int(
            runner.optim_wrapper.optimizer.state[param]['step'])


def _clone(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _assert_state(state, path):
    expected = torch.load(path, weights_only=True)['state_dict']
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, msg=f'{key} {path}')


def _route_files(tmp_path, n):
    """``n`` distinct teacher checkpoints (tiny convnet, 4 classes)."""
    paths = []
    for i in range(n):
        torch.manual_seed(100 + i)
        teacher = MODELS.build(tiny_classifier(num_classes=4))
        paths.append(str(tmp_path / f'route_{i}.pth'))
        torch.save(
            {
                'state_dict': teacher.state_dict(),
                'meta': {
                    'epoch': 2 * (i + 1)
                }
            }, paths[-1])
    return paths


def _cs_runner(tmp_path, name, route, epochs, resume=None):
    cfg = tiny_runner_cfg(
        CS, tmp_path / name, tmp_path / 'data', epochs=epochs)
    if name == 'ema':  # a derived config's own hook list
        cfg.custom_hooks = [dict(type='EMAHook')]
    cfg.model.teachers.resnet18 = dict(model=tiny_classifier(num_classes=4))
    cfg.model.route = route
    cfg.param_scheduler = dict(
        type='StepLR', by_epoch=True, step_size=2, gamma=0.5)
    if resume:
        cfg.resume, cfg.load_from = True, resume
    runner = build_runner(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    return runner, recorder


def _log_text(runner):
    return open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()


# ----------------------------------------------------------------------
# TeacherRouteSaverHook
# ----------------------------------------------------------------------
class StateAtEpochEnd(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.states = {}

    def after_train_epoch(self, runner):
        self.states[runner.epoch + 1] = _clone(runner.model)


def test_route_saver_writes_every_k_epochs_with_manifest(tmp_path):
    cfg = tiny_runner_cfg(
        STUDENT,
        tmp_path / 'teacher',
        tmp_path / 'data',
        epochs=5,
        custom_hooks=[dict(type='TeacherRouteSaverHook', interval=2,
                           save_last=False)])
    runner = build_runner(cfg)
    states = StateAtEpochEnd()
    runner.register_hook(states)
    runner.train()

    route = tmp_path / 'teacher' / 'route'
    manifest = json.loads((route / 'manifest.json').read_text())
    assert manifest == [{
        'epoch': 2,
        'file': 'route_epoch_2.pth'
    }, {
        'epoch': 4,
        'file': 'route_epoch_4.pth'
    }]
    assert sorted(os.listdir(route)) == [
        'manifest.json', 'route_epoch_2.pth', 'route_epoch_4.pth'
    ]  # no tmp
    iters = len(runner.train_dataloader)
    for entry in manifest:
        saved = torch.load(route / entry['file'], weights_only=True)
        assert set(saved) == {'state_dict', 'meta'}
        assert saved['meta'] == {
            'epoch': entry['epoch'],
            'iter': entry['epoch'] * iters
        }
        _assert_state(states.states[entry['epoch']], route / entry['file'])
    # the epoch-4 weights are not the final (epoch-5) ones
    final = runner.model.state_dict()
    assert any(not torch.equal(final[k], v) for k, v in torch.load(
        route / 'route_epoch_4.pth', weights_only=True)['state_dict'].items())


def test_route_saver_by_iter_and_custom_folder(tmp_path):
    cfg = tiny_runner_cfg(
        STUDENT,
        tmp_path / 'teacher',
        tmp_path / 'data',
        epochs=2,
        custom_hooks=[
            dict(
                type='TeacherRouteSaverHook',
                interval=3,
                by_epoch=False,
                out_dir='my_route',
                save_last=False)
        ])
    runner = build_runner(cfg)
    runner.train()
    assert len(runner.train_dataloader) == 4  # 8 iterations in all
    manifest = json.loads(
        (tmp_path / 'teacher' / 'my_route' / 'manifest.json').read_text())
    assert manifest == [{
        'iter': 3,
        'file': 'route_iter_3.pth'
    }, {
        'iter': 6,
        'file': 'route_iter_6.pth'
    }]
    saved = torch.load(
        tmp_path / 'teacher' / 'my_route' / 'route_iter_6.pth',
        weights_only=True)
    assert saved['meta']['iter'] == 6


def test_route_ends_at_the_final_teacher_even_if_shorter_than_interval(
        tmp_path):
    # `tools/demo.py --method checkpoint_sequence --epochs 1` used to find
    # no manifest: the route saver waited for epoch 5
    cfg = tiny_runner_cfg(
        STUDENT, tmp_path / 'teacher', tmp_path / 'data', epochs=3,
        custom_hooks=[dict(type='TeacherRouteSaverHook', interval=2)])
    build_runner(cfg).train()
    manifest = json.loads(
        (tmp_path / 'teacher' / 'route' / 'manifest.json').read_text())
    assert [e['epoch'] for e in manifest] == [2, 3]
    cfg = tiny_runner_cfg(
        STUDENT, tmp_path / 'short', tmp_path / 'data', epochs=1,
        custom_hooks=[dict(type='TeacherRouteSaverHook', interval=5)])
    build_runner(cfg).train()
    manifest = json.loads(
        (tmp_path / 'short' / 'route' / 'manifest.json').read_text())
    assert manifest == [{'epoch': 1, 'file': 'route_epoch_1.pth'}]


def test_route_saver_keeps_entries_on_resume(tmp_path):
    hooks = [dict(type='TeacherRouteSaverHook', interval=2, save_last=False)]
    cfg = tiny_runner_cfg(
        STUDENT,
        tmp_path / 'teacher',
        tmp_path / 'data',
        epochs=5,
        custom_hooks=hooks)
    runner = build_runner(cfg)
    runner.register_hook(CrashAfterEpoch(3))
    with pytest.raises(Crash):
        runner.train()
    route = tmp_path / 'teacher' / 'route'
    first = torch.load(route / 'route_epoch_2.pth', weights_only=True)
    assert json.loads((route / 'manifest.json').read_text()) == [{
        'epoch':
        2,
        'file':
        'route_epoch_2.pth'
    }]

    cfg = tiny_runner_cfg(
        STUDENT,
        tmp_path / 'teacher',
        tmp_path / 'data',
        epochs=5,
        custom_hooks=hooks,
        resume=True,
        load_from=str(tmp_path / 'teacher' / 'epoch_3.pth'))
    build_runner(cfg).train()
    assert json.loads((route / 'manifest.json').read_text()) == [{
        'epoch':
        2,
        'file':
        'route_epoch_2.pth'
    }, {
        'epoch':
        4,
        'file':
        'route_epoch_4.pth'
    }]
    _assert_state(first['state_dict'], route / 'route_epoch_2.pth')


# ----------------------------------------------------------------------
# TeacherSwitchHook
# ----------------------------------------------------------------------
def test_switch_at_scheduled_epochs_teacher_frozen_lr_continuous(tmp_path):
    paths = _route_files(tmp_path, 3)
    runner, rec = _cs_runner(
        tmp_path, 'cs', dict(checkpoints=paths, interval=2), epochs=7)
    runner.train()

    iters = len(runner.train_dataloader)
    for e in range(7):
        index = min(e // 2, 2)
        assert rec.index[e] == index
        _assert_state(rec.start[e], paths[index])  # switched in time
        _assert_state(rec.end[e], paths[index])  # never trained
        # LR follows StepLR(2, 0.5) straight through the switches, and Adam
        # kept counting: neither optimizer nor schedule was reset
        assert rec.lr[e] == pytest.approx(LR * 0.5**(e // 2))
        assert rec.steps[e] == (e + 1) * iters
    assert rec.teacher_training == {False}
    assert not any(p.requires_grad for p in runner.model.teachers.parameters())
    log = _log_text(runner)
    for index in range(3):
        assert f'route_index={index}' in log
    # epoch 7 (index 6) is past the route's 3 x 2 epochs: one warning
    assert log.count('is past the route of teacher') == 1


def test_a_derived_config_that_replaces_custom_hooks_keeps_the_switch(
        tmp_path):
    """``custom_hooks = [dict(type='EMAHook')]`` in a derived config
    replaces the base's list (mmengine's merge): the runner still moves the
    teacher along its route (before: the first checkpoint stayed the
    teacher for the whole run, silently)."""
    paths = _route_files(tmp_path, 2)
    runner, rec = _cs_runner(
        tmp_path, 'ema', dict(checkpoints=paths, interval=2), epochs=4)
    assert 'TeacherSwitchHook' not in [
        h['type'] for h in runner.cfg.custom_hooks]
    runner.train()
    assert [rec.index[e] for e in range(4)] == [0, 0, 1, 1]
    _assert_state(rec.end[3], paths[1])


def test_models_without_a_route_ignore_the_switch(tmp_path):
    runner = build_runner(tiny_runner_cfg(STUDENT, tmp_path / 'w',
                                          tmp_path / 'data', epochs=1))
    assert any(type(h).__name__ == 'TeacherSwitchHook' for h in runner.hooks)
    runner.train()  # a classifier: nothing to switch, no error


def test_resume_restores_the_active_checkpoint(tmp_path):
    paths = _route_files(tmp_path, 3)
    route = dict(checkpoints=paths, interval=2)
    runner, _ = _cs_runner(tmp_path, 'cs', route, epochs=5)
    runner.register_hook(CrashAfterEpoch(3))
    with pytest.raises(Crash):
        runner.train()
    ckpt = str(tmp_path / 'cs' / 'epoch_3.pth')
    saved = torch.load(ckpt, weights_only=True)
    assert saved['meta']['route_index'] == {'resnet18': 1}  # epoch 3 (index 2) used ckpt 1

    resumed, rec = _cs_runner(tmp_path, 'cs', route, epochs=5, resume=ckpt)
    resumed.train()
    assert sorted(rec.start) == [3, 4]
    assert rec.index == {3: 1, 4: 2}
    _assert_state(rec.start[3], paths[1])
    _assert_state(rec.start[4], paths[2])
    assert rec.lr[3] == pytest.approx(LR * 0.5)  # schedule resumed too
    assert rec.lr[4] == pytest.approx(LR * 0.25)


def _fake_runner(model, epoch):
    return SimpleNamespace(
        model=model,
        epoch=epoch,
        message_hub=MessageHub.get_instance('test_teacher_route'))


def test_explicit_schedule_and_manifest_spans(tmp_path):
    paths = _route_files(tmp_path, 3)
    model = MODELS.build(
        dict(
            type='CheckpointSequence',
            student=tiny_classifier(num_classes=4),
            teachers=dict(resnet18=dict(model=tiny_classifier(num_classes=4))),
            route=dict(schedule=[(0, paths[2]), (1, paths[0]), (4,
                                                                paths[1])])))
    hook = TeacherSwitchHook()
    hook.before_train(_fake_runner(model, 0))
    for epoch, index in [(0, 2), (1, 0), (3, 0), (4, 1), (9, 1)]:
        hook.before_train_epoch(_fake_runner(model, epoch))
        assert model.teachers.resnet18.route_index == \
            hook.active['resnet18']
        _assert_state(_clone(model.teachers.resnet18.model), paths[index])
    assert not hook.warned_exhausted  # an explicit schedule has no end
    assert not model.teachers.resnet18.training
