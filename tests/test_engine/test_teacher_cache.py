import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from medkd.apis import build_runner
from medkd.datasets import AugmentationReplayDataset, ReplaySampler
from medkd.registry import DATASETS, MODELS
from conftest import shifted_checkpoint, tiny_classifier, tiny_runner_cfg

KD = 'configs/demo/kd_resnet18_convnet_cells.py'
AUGMENT = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=16, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]


def _dataset(tmp_path, pipeline=AUGMENT):
    return DATASETS.build(
        dict(type='SyntheticCells', data_root=str(tmp_path / 'data'),
             num_per_class=(8, 4, 4), image_size=16, pipeline=pipeline))


def test_replay_gives_each_view_the_same_image_every_time(tmp_path):
    replay = AugmentationReplayDataset(_dataset(tmp_path), num_views=3)
    assert len(replay) == 32 and replay.num_items == 96
    first = [replay[k]['inputs'] for k in range(12)]
    np.random.seed(123)  # global state must not matter
    again = [replay[k]['inputs'] for k in range(12)]
    for a, b in zip(first, again):
        assert torch.equal(a, b)
    views = [replay[i * 3 + v]['inputs'] for i in range(4) for v in range(3)]
    differing = sum(not torch.equal(views[3 * i], views[3 * i + v])
                    for i in range(4) for v in (1, 2))
    assert differing >= 6  # random crops: views of a sample differ
    assert replay[7]['data_samples'].metainfo['cache_index'] == 7


def test_replay_sampler_draws_one_view_per_sample_per_epoch(tmp_path):
    replay = AugmentationReplayDataset(_dataset(tmp_path), num_views=4)
    sampler = ReplaySampler(replay, seed=0)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        flat = list(sampler)
        assert sorted(i // 4 for i in flat) == list(range(32))
        epochs.append({i // 4: i % 4 for i in flat})
    assert epochs[0] != epochs[1] != epochs[2]
    sampler.set_epoch(1)
    assert {i // 4: i % 4 for i in sampler} == epochs[1]


def _kd_cfg(tmp_path, name, teacher_ckpt, pipeline=AUGMENT, views=2):
    # every view is built (one epoch would otherwise build only the views
    # it draws, tests/test_engine/test_cache_economics.py)
    cfg = tiny_runner_cfg(KD, tmp_path / name, tmp_path / 'data', epochs=1,
                          teacher_cache=dict(num_views=views, build='all'))
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.model.teachers.resnet18.ckpt = teacher_ckpt
    return cfg


def test_cached_outputs_equal_live_teacher_and_replace_it(tmp_path,
                                                          teacher_ckpt):
    runner = build_runner(_kd_cfg(tmp_path, 'run', teacher_ckpt))
    model = runner.model
    teacher = model.teachers.resnet18
    calls = []
    teacher.model.register_forward_hook(lambda *args: calls.append(1))
    runner.train()
    cache = teacher.cache
    assert cache is not None and cache.shape == (64, 4)
    built_calls = len(calls)
    assert built_calls >= 1  # the build ran the teacher ...

    dataset = runner.train_dataloader.dataset
    for flat in (0, 5, 33, 63):
        data = model.data_preprocessor(pseudo_collate([dataset[flat]]),
                                       False)
        teacher.cache = None
        live = model.teacher_logits(data['inputs'])['resnet18']
        teacher.cache = cache
        cached = model.teacher_logits(data['inputs'],
                                      data['data_samples'])['resnet18']
        torch.testing.assert_close(cached, live, atol=2e-2, rtol=2e-3)

    # ... and training read the cache: one more epoch, no teacher forward
    calls.clear()
    runner.train_loop._max_epochs = 2
    runner.train_loop.run()
    assert calls == []


def test_cache_is_reused_and_invalidated_by_teacher_pipeline_truncation(
        tmp_path, teacher_ckpt):
    build_runner(_kd_cfg(tmp_path, 'run', teacher_ckpt)).train()
    folder = tmp_path / 'run' / 'teacher_cache'
    (first, ) = glob.glob(str(folder / '*.f16'))
    mtime = os.stat(first).st_mtime_ns

    build_runner(_kd_cfg(tmp_path, 'run', teacher_ckpt)).train()
    assert glob.glob(str(folder / '*.f16')) == [first]
    assert os.stat(first).st_mtime_ns == mtime  # reused, not rebuilt

    # a truncated file is detected and rebuilt, never used
    with open(first, 'r+b') as f:
        f.truncate(100)
    runner = build_runner(_kd_cfg(tmp_path, 'run', teacher_ckpt))
    runner.train()
    assert osp.getsize(first) == runner.model.teachers.resnet18.cache.nbytes

    # another teacher checkpoint -> another cache
    state = torch.load(teacher_ckpt, weights_only=True)
    state['state_dict']['head.fc.bias'] += 1
    other = str(tmp_path / 'teacher2.pth')
    torch.save(state, other)
    build_runner(_kd_cfg(tmp_path, 'run', other)).train()
    assert len(glob.glob(str(folder / '*.f16'))) == 2

    # another pipeline -> another cache
    flip_only = [AUGMENT[0], AUGMENT[2], AUGMENT[3]]
    build_runner(_kd_cfg(tmp_path, 'run', other, pipeline=flip_only)).train()
    assert len(glob.glob(str(folder / '*.f16'))) == 3


def test_cache_config_errors_name_the_key(tmp_path):
    cfg = tiny_runner_cfg('configs/demo/convnet_student_cells.py',
                          tmp_path / 'w', tmp_path / 'data',
                          teacher_cache=dict(num_views=2))
    with pytest.raises(ValueError, match='`teacher_cache`.*no frozen'):
        build_runner(cfg)


@pytest.mark.parametrize('key', ['batch_size', 'num_workers'])
def test_build_loader_settings_are_refused_with_the_lazy_cache(tmp_path, key):
    """The lazy cache is filled by the training batches: a build loader's
    ``batch_size`` / ``num_workers`` would be ignored, so they are refused
    (and honoured with build='all')."""
    cfg = _kd_cfg(tmp_path, 'lazy', None)
    cfg.teacher_cache = {'num_views': 2, key: 3}
    with pytest.raises(ValueError, match=f'`teacher_cache`: {key}=3 .*'
                       "build='all'"):
        build_runner(cfg)
    cfg.teacher_cache = {'num_views': 2, key: 3, 'build': 'all'}
    hook = next(h for h in build_runner(cfg).hooks
                if type(h).__name__ == 'TeacherCacheHook')
    assert getattr(hook, key) == 3


def test_checkpoint_sequence_gets_one_cache_per_route_checkpoint(
        tmp_path, teacher_ckpt):
    second = shifted_checkpoint(teacher_ckpt, tmp_path / 'route_2.pth')
    cfg = tiny_runner_cfg(
        'configs/demo/checkpoint_sequence_resnet18_convnet_cells.py',
        tmp_path / 'cs', tmp_path / 'data', epochs=3,
        teacher_cache=dict(num_views=2))
    cfg.model.route = dict(checkpoints=[teacher_ckpt, second], interval=1)
    runner = build_runner(cfg)
    keys = []
    original = runner.model.loss

    def recording_loss(inputs, data_samples):
        keys.append(runner.model.teachers.resnet18.cache.key)
        return original(inputs, data_samples)

    runner.model.loss = recording_loss
    runner.train()
    files = glob.glob(str(tmp_path / 'cs' / 'teacher_cache' / '*.f16'))
    assert len(files) == 2  # epoch 1 -> route 0; epochs 2, 3 -> route 1
    per_epoch = [keys[i * 4] for i in range(3)]
    assert per_epoch[0] != per_epoch[1] == per_epoch[2]


def test_cache_key_follows_the_preprocessing_values(tmp_path):
    from medkd.engine.hooks.teacher_cache import TeacherCacheHook
    replay = AugmentationReplayDataset(_dataset(tmp_path), num_views=2)

    def key(**preprocessor):
        torch.manual_seed(0)
        model = MODELS.build(
            dict(type='VanillaKD',
                 student=tiny_classifier(4),
                 teachers=dict(t=dict(model=tiny_classifier(4))),
                 data_preprocessor=dict(type='ClsDataPreprocessor',
                                        **preprocessor)))
        return TeacherCacheHook().cache_key(model, 't', replay)

    base = dict(mean=[120.0, 110.0, 100.0], std=[50.0, 50.0, 50.0],
                to_rgb=True)
    assert key(**base) == key(**base)
    # repr() printed "ClsDataPreprocessor()" for all three: one stale key
    assert key(**dict(base, mean=[121.0, 110.0, 100.0])) != key(**base)
    assert key(**dict(base, std=[51.0, 50.0, 50.0])) != key(**base)
    assert key(**dict(base, to_rgb=False)) != key(**base)


def test_replay_leaves_every_generator_as_it_was(tmp_path, monkeypatch):
    """Before, the pipeline's seed went through ``torch.manual_seed``, which
    also reseeds every CUDA generator, and only the CPU state was restored:
    on a GPU with num_workers=0, dropout restarted from the last view's seed
    every batch. Now only the CPU generator is seeded, and restored."""
    reseeded = []
    monkeypatch.setattr(torch.cuda, 'manual_seed_all',
                        lambda seed: reseeded.append(seed))
    monkeypatch.setattr(torch.cuda, 'manual_seed',
                        lambda seed: reseeded.append(seed))
    replay = AugmentationReplayDataset(_dataset(tmp_path), num_views=3)
    torch.manual_seed(5)
    reseeded.clear()
    state = torch.random.get_rng_state()
    python_state, numpy_state = __import__('random').getstate(), \
        np.random.get_state()
    views = [replay[k]['inputs'] for k in (0, 4, 7)]
    assert reseeded == []  # no CUDA generator was touched
    assert torch.equal(torch.random.get_rng_state(), state)
    assert __import__('random').getstate() == python_state
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    # and the views are the ones torch.manual_seed gave (caches stay valid)
    assert all(torch.equal(v, replay[k]['inputs'])
               for v, k in zip(views, (0, 4, 7)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_replay_keeps_the_cuda_generator_on_a_gpu(tmp_path):
    replay = AugmentationReplayDataset(_dataset(tmp_path), num_views=3)
    torch.cuda.manual_seed_all(11)
    expected = torch.rand(4, device='cuda')
    torch.cuda.manual_seed_all(11)
    replay[5]
    torch.testing.assert_close(torch.rand(4, device='cuda'), expected)


@pytest.mark.parametrize('dtype,atol', [('float16', 1e-2), ('float32', 0)])
def test_the_cache_stores_float16_or_exact_float32(tmp_path, dtype, atol):
    from medkd.engine.teacher_cache import TeacherOutputCache
    logits = torch.tensor([[12.34, -3.21, 0.1], [7.77, 1e-3, -40.5]])
    cache = TeacherOutputCache(str(tmp_path), 'k', (2, 3), dtype)
    cache.create()
    cache.write([0, 1], logits)
    cache.flush()
    cache.finalize()
    assert cache.invalid_reason() is None
    assert cache.data_path.endswith('.f16' if dtype == 'float16' else '.f32')
    got = cache.open_readonly().lookup([0, 1])
    torch.testing.assert_close(got, logits, rtol=0, atol=atol)
    if dtype == 'float16':
        assert got[0, 0].item() == 12.34375  # within float16, not exact
    with pytest.raises(ValueError, match='teacher_cache.dtype'):
        TeacherOutputCache(str(tmp_path), 'k', (2, 3), 'bfloat16')


def test_the_cache_dtype_is_a_config_key(tmp_path, teacher_ckpt):
    cfg = _kd_cfg(tmp_path, 'f32', teacher_ckpt)
    cfg.teacher_cache = dict(num_views=2, build='all', dtype='float32')
    runner = build_runner(cfg)
    runner.train()
    cache = runner.model.teachers.resnet18.cache
    assert cache.data_path.endswith('.f32')
    dataset = runner.train_dataloader.dataset
    data = runner.model.data_preprocessor(pseudo_collate([dataset[3]]),
                                          False)
    runner.model.teachers.resnet18.restore()
    torch.testing.assert_close(
        cache.lookup([3]),
        runner.model.teachers.resnet18.live_logits(data['inputs']),
        rtol=1e-5, atol=1e-5)
    cfg.teacher_cache = dict(num_views=2, dtype='half')
    with pytest.raises(ValueError, match='teacher_cache.dtype'):
        build_runner(cfg).train()
