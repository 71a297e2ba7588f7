"""The teacher-output cache never costs more teacher passes than live
teachers: with fewer epochs than views (a route checkpoint teaching 5 epochs
with 8 views), only the (sample, view) pairs those epochs draw are built."""
import pytest
import torch
from mmengine.config import Config

from medkd.apis import build_runner
from medkd.registry import MODELS
from conftest import tiny_runner_cfg

KD = 'configs/demo/kd_resnet18_convnet_cells.py'
CS = 'configs/demo/checkpoint_sequence_resnet18_convnet_cells.py'


@pytest.fixture
def teacher_ckpt(tmp_path):
    torch.manual_seed(3)
    teacher = MODELS.build(Config.fromfile(KD).resnet18_cells)
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


def count_teacher_images(model):
    """Number of images each teacher forward pass sees, recorded."""
    seen = []
    for teacher in model.teachers.values():
        teacher.register_forward_hook(
            lambda module, args, out: seen.append(args[0].shape[0]))
    return seen


def cache_hook(runner):
    return next(h for h in runner.hooks
                if type(h).__name__ == 'TeacherCacheHook')


def drawn(sampler, views, epochs):
    """The flat rows ``sampler`` yields in ``epochs``, by iterating it."""
    rows = set()
    for epoch in epochs:
        sampler.set_epoch(epoch)
        rows |= set(sampler)
    return rows


def test_fewer_epochs_than_views_build_only_the_drawn_views(
        tmp_path, teacher_ckpt):
    cfg = tiny_runner_cfg(KD, tmp_path / 'kd', tmp_path / 'data', epochs=3,
                          teacher_cache=dict(num_views=8))
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    runner = build_runner(cfg)
    seen = count_teacher_images(runner.model)
    hook = cache_hook(runner)
    original, during_build = hook.build, []

    def counting_build(*args):
        start = sum(seen)
        original(*args)
        during_build.append(sum(seen) - start)

    hook.build = counting_build
    runner.train()
    cache = runner.model.teacher_cache
    sampler = runner.train_dataloader.sampler
    expected = drawn(sampler, 8, range(3))
    assert set(cache.rows.tolist()) == expected
    num_samples = len(runner.train_dataloader.dataset.dataset)  # 32
    # one build, which ran the teacher on exactly those rows: no more than
    # 3 live epochs would (fewer when views repeat), not 8 views
    assert during_build == [len(expected)]
    assert len(expected) <= 3 * num_samples < 8 * num_samples
    # a row the epochs do not draw is refused, not read as zeros
    missing = next(r for r in range(8 * num_samples) if r not in expected)
    with pytest.raises(RuntimeError, match='built for the views'):
        cache.lookup([missing])


def test_build_all_and_enough_epochs_build_every_view(tmp_path,
                                                      teacher_ckpt):
    for name, epochs, options in (('all', 2, dict(build='all')),
                                  ('long', 3, {})):
        cfg = tiny_runner_cfg(KD, tmp_path / name, tmp_path / 'data',
                              epochs=epochs,
                              teacher_cache=dict(num_views=epochs if name ==
                                                 'long' else 8, **options))
        cfg.model.teachers.resnet18.ckpt = teacher_ckpt
        runner = build_runner(cfg)
        runner.train()
        assert runner.model.teacher_cache.rows is None, name


def test_unknown_cache_options_are_refused(tmp_path, teacher_ckpt):
    cfg = tiny_runner_cfg(KD, tmp_path / 'x', tmp_path / 'data',
                          teacher_cache=dict(num_views=2, viewz=3))
    with pytest.raises(KeyError, match=r"`teacher_cache`.*\['viewz'\]"):
        build_runner(cfg)
    cfg.teacher_cache = dict(num_views=2, build='some')
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    with pytest.raises(ValueError, match='teacher_cache.build'):
        build_runner(cfg).train()


def test_each_route_checkpoint_builds_the_views_of_its_stretch(
        tmp_path, teacher_ckpt):
    state = torch.load(teacher_ckpt, weights_only=True)
    state['state_dict']['head.fc.bias'] += 1
    second = str(tmp_path / 'route_2.pth')
    torch.save(state, second)
    cfg = tiny_runner_cfg(CS, tmp_path / 'cs', tmp_path / 'data', epochs=4,
                          teacher_cache=dict(num_views=8))
    cfg.model.route = dict(checkpoints=[teacher_ckpt, second], interval=2)
    runner = build_runner(cfg)
    built = []
    hook = cache_hook(runner)
    original = hook.build

    def recording_build(runner_, model, dataset, cache):
        built.append(set(cache.rows.tolist()))
        return original(runner_, model, dataset, cache)

    hook.build = recording_build
    runner.train()
    sampler = runner.train_dataloader.sampler
    assert built == [drawn(sampler, 8, range(0, 2)),
                     drawn(sampler, 8, range(2, 4))]
