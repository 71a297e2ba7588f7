"""The teacher-output cache never costs more teacher passes than live
teachers: by default (build='lazy') a (sample, view) pair is computed by the
live teachers the first time training draws it and read back afterwards;
build='all' computes every view before training."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from medkd.apis import build_runner
from conftest import tiny_runner_cfg

KD = 'configs/demo/kd_resnet18_convnet_cells.py'
CS = 'configs/demo/checkpoint_sequence_resnet18_convnet_cells.py'


def cfg_for(config, tmp_path, name, epochs, **cache):
    cfg = tiny_runner_cfg(config, tmp_path / name, tmp_path / 'data',
                          epochs=epochs, teacher_cache=cache)
    # no validation (the teachers' val metrics): count training only
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.calibration = None  # fitted on val
    return cfg


def teacher_images(model):
    """Images each live teacher pass sees (the teacher's model runs),
    recorded."""
    seen = []
    for teacher in model.teachers.values():
        teacher.model.register_forward_hook(
            lambda module, args, out: seen.append(args[0].shape[0]))
    return seen


def drawn(sampler, epochs):
    """The flat rows ``sampler`` yields in each of ``epochs``."""
    rows = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        rows.append(set(sampler))
    return rows


def test_lazy_cache_computes_each_drawn_pair_once(tmp_path, teacher_ckpt):
    cfg = cfg_for(KD, tmp_path, 'kd', 6, num_views=4)
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    runner = build_runner(cfg)
    seen = teacher_images(runner.model)
    runner.train()
    model, sampler = runner.model, runner.train_dataloader.sampler
    per_epoch = drawn(sampler, range(6))
    distinct = set().union(*per_epoch)
    num_samples = len(runner.train_dataloader.dataset.dataset)  # 32
    # every distinct pair once (+ 1 image: the probe of the output size):
    # fewer than live teachers (6 x 32) and than a build of every view
    assert sum(seen) == len(distinct) + 1
    assert len(distinct) < 6 * num_samples
    assert len(distinct) < 4 * num_samples  # not every view was drawn
    cache = model.teachers.resnet18.cache
    assert set(np.flatnonzero(cache.filled)) == distinct
    # what it stored is what the live teacher gives for that view
    dataset = runner.train_dataloader.dataset
    for flat in sorted(distinct)[:3]:
        data = model.data_preprocessor(pseudo_collate([dataset[flat]]),
                                       False)
        live = model.teachers.resnet18.live_logits(data['inputs'])
        torch.testing.assert_close(cache.lookup([flat]), live,
                                   atol=2e-2, rtol=2e-3)
    # a pair never drawn is refused, not read as zeros
    never = next(r for r in range(4 * num_samples) if r not in distinct)
    with pytest.raises(RuntimeError, match='no outputs for rows'):
        cache.lookup([never])

    # a resumed / repeated run in the same work dir reads the filled rows
    # back: an epoch drawing only known pairs runs no teacher
    again = build_runner(cfg)
    seen_again = teacher_images(again.model)
    again.train()
    assert sum(seen_again) == 1  # the probe only


def test_build_all_computes_every_view_before_training(tmp_path,
                                                        teacher_ckpt):
    cfg = cfg_for(KD, tmp_path, 'all', 2, num_views=4, build='all')
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    runner = build_runner(cfg)
    seen = teacher_images(runner.model)
    runner.train()
    assert sum(seen) == 4 * 32 + 1
    assert runner.model.teachers.resnet18.cache.filled is None  # complete


def test_unknown_cache_options_are_refused(tmp_path, teacher_ckpt):
    cfg = cfg_for(KD, tmp_path, 'x', 1, num_views=2, viewz=3)
    with pytest.raises(KeyError, match=r"`teacher_cache`.*\['viewz'\]"):
        build_runner(cfg)
    cfg.teacher_cache = dict(num_views=2, build='some')
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    with pytest.raises(ValueError, match='teacher_cache.build'):
        build_runner(cfg).train()


def test_a_route_checkpoint_computes_only_the_pairs_of_its_stretch(
        tmp_path, teacher_ckpt):
    """interval 2 with 8 views: a full build per checkpoint would run the
    teacher on 8 x 32 images to serve 2 epochs (2 x 32 live)."""
    state = torch.load(teacher_ckpt, weights_only=True)
    state['state_dict']['head.fc.bias'] += 1
    second = str(tmp_path / 'route_2.pth')
    torch.save(state, second)
    cfg = cfg_for(CS, tmp_path, 'cs', 4, num_views=8)
    cfg.model.route = dict(checkpoints=[teacher_ckpt, second], interval=2)
    runner = build_runner(cfg)
    seen = teacher_images(runner.model)
    runner.train()
    epochs = drawn(runner.train_dataloader.sampler, range(4))
    stretches = [epochs[0] | epochs[1], epochs[2] | epochs[3]]
    assert sum(seen) == sum(len(s) for s in stretches) + 2  # + 2 probes
    assert sum(seen) - 2 <= 4 * 32
