"""The pre-flight image check: bad images stop a run before training."""
import os

import pytest
from mmengine.hooks import Hook
from mmengine.registry import DATASETS

from medkd.apis import build_runner
from medkd.datasets import preflight
from medkd.datasets.preflight import BadImageError
from conftest import tiny_runner_cfg

STUDENT = 'configs/demo/convnet_student_cells.py'


class _CountIters(Hook):

    def __init__(self):
        self.iters = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.iters += 1


def _cfg(tmp_path, epochs=1, **overrides):
    return tiny_runner_cfg(STUDENT, tmp_path / 'work', tmp_path / 'data',
                           epochs=epochs, **overrides)


def _train_paths(cfg):
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def _corrupt(paths):
    for path in paths:
        with open(path, 'wb') as f:
            f.write(b'\x89PNG not really')


def _train(cfg):
    runner = build_runner(cfg)
    counter = _CountIters()
    runner.register_hook(counter)
    return runner, counter


def test_a_corrupt_image_stops_the_run_before_the_first_iteration(tmp_path):
    cfg = _cfg(tmp_path)
    paths = _train_paths(cfg)
    _corrupt(paths[3:15])  # 12 bad files, 10 listed
    runner, counter = _train(cfg)
    with pytest.raises(BadImageError) as error:
        runner.train()
    message = str(error.value)
    assert counter.iters == 0
    assert f'train set: 12 of {len(paths)} samples' in message
    for path in paths[3:13]:
        assert path in message
    assert paths[13] not in message and '... and 2 more' in message
    assert 'not a decodable image' in message
    assert "on_bad_image='skip'" in message


def test_skip_drops_the_bad_samples_with_one_warning_naming_each(
        tmp_path, caplog):
    cfg = _cfg(tmp_path, image_check=dict(on_bad_image='skip'))
    paths = _train_paths(cfg)
    _corrupt(paths[:2])
    runner, counter = _train(cfg)
    runner.train()
    dataset = runner.train_dataloader.dataset
    kept = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    assert kept == paths[2:]
    batches = -(-len(kept) // cfg.train_dataloader.batch_size)
    assert counter.iters == batches
    log = open(runner.logger.log_file).read()
    assert log.count("on_bad_image='skip' leaves out 2 of") == 1
    assert paths[0] in log and paths[1] in log


def test_skip_is_refused_for_the_test_set(tmp_path):
    """Test metrics on a silently smaller test set would be reported as the
    test set's: 'skip' leaves out bad train / val images only."""
    cfg = _cfg(tmp_path, image_check=dict(on_bad_image='skip'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    paths = [dataset.get_data_info(i)['img_path']
             for i in range(len(dataset))]
    _corrupt(paths[:1])
    cfg.load_from = None
    with pytest.raises(BadImageError) as error:
        build_runner(cfg).test()
    message = str(error.value)
    assert f'test set: 1 of {len(paths)} samples' in message
    assert paths[0] in message and 'train and val sets only' in message


def test_the_result_is_reused_until_a_file_changes(tmp_path, monkeypatch):
    decoded = []
    original = preflight.decode_image

    def counting(task):
        decoded.append(task[0])
        return original(task)

    monkeypatch.setattr(preflight, 'decode_image', counting)
    cfg = _cfg(tmp_path)
    paths = _train_paths(cfg)
    build_runner(cfg).train()
    first = len(decoded)
    assert first >= len(paths)  # train, val and test images
    build_runner(_cfg(tmp_path)).train()
    assert len(decoded) == first  # nothing decoded again
    _corrupt(paths[:1])  # new size and mtime: checked again, found
    with pytest.raises(BadImageError, match=paths[0]):
        build_runner(_cfg(tmp_path)).train()
    assert paths[0] in decoded[first:]


def test_channels_differing_from_the_preprocessor_are_refused(tmp_path):
    cfg = _cfg(tmp_path)
    for split in ('train', 'val', 'test'):
        pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        pipeline[0] = dict(pipeline[0], color_type='grayscale')
    runner, counter = _train(cfg)
    with pytest.raises(BadImageError,
                       match=r"1 channel\(s\) as loaded \(color_type "
                       r"'grayscale'\), the data preprocessor normalises 3"):
        runner.train()
    assert counter.iters == 0


def test_images_of_another_size_than_configured_are_refused(tmp_path):
    cfg = _cfg(tmp_path, image_check=dict(img_size=(32, 32)))
    with pytest.raises(BadImageError,
                       match=r'16x16 pixels, expected 32x32 '
                       r'\(image_check.img_size\)'):
        build_runner(cfg).train()


def test_several_processes_find_the_same_files(tmp_path):
    cfg = _cfg(tmp_path, image_check=dict(cache=False))
    paths = _train_paths(cfg)
    _corrupt([paths[5]])
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    one = preflight.find_bad_samples(dataset, 3, nproc=1, cache=False)
    two = preflight.find_bad_samples(dataset, 3, nproc=2, cache=False)
    assert one == two and [(i, kind) for i, _, kind in one] == [(5, 'file')]


@pytest.mark.parametrize('options,error,message', [
    (dict(on_bad='skip'), KeyError, "unknown key.*'on_bad'"),
    (dict(on_bad_image='ignore'), ValueError, 'on_bad_image'),
    (dict(img_size=(16, )), ValueError, 'img_size'),
])
def test_bad_image_check_options_are_refused_naming_key_and_file(
        tmp_path, options, error, message):
    path = tmp_path / 'cfg.py'
    path.write_text(f"_base_ = ['{os.path.abspath(STUDENT)}']\n"
                    f'image_check = {options!r}\n')
    from mmengine.config import Config
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'w')
    with pytest.raises(error, match=message) as raised:
        build_runner(cfg)
    assert str(path) in str(raised.value)


def test_disabled_check_decodes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, 'decode_image', None)  # would fail
    build_runner(_cfg(tmp_path, image_check=dict(enabled=False))).train()


def test_fewer_modalities_than_the_model_is_one_error_before_training(
        tmp_path):
    """3 of the 4 modalities for a model of 4 slots: found before training
    (it used to fail in the first iteration with `The size of tensor a (5)
    must match the size of tensor b (6)`)."""
    cfg = tiny_runner_cfg('configs/demo/mm_early_fusion_cells.py',
                          tmp_path / 'work', tmp_path / 'data', epochs=1)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.modalities = (
            'fluorescent', 'bf_red', 'bf_green')
    runner, counter = _train(cfg)
    with pytest.raises(BadImageError) as error:
        runner.train()
    assert counter.iters == 0
    message = str(error.value)
    assert ("train set (SyntheticMultiModalCells): its 3 modalities "
            "['fluorescent', 'bf_red', 'bf_green'] load as 5 channels per "
            "sample, but the model's data preprocessor normalises 6"
            ) in message
