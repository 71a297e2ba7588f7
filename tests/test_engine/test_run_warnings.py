"""Runs that would silently go wrong: a broken term, a diverging loss, a
misspelt config key, a class without training samples."""
import glob
import os.path as osp
from types import SimpleNamespace
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from medkd.apis import build_runner
from medkd.engine.hooks import NonFiniteLossHook
from medkd.engine.runner import MedKDRunner, misspelt_config_keys
from conftest import tiny_runner_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/demo/convnet_student_cells.py'


def _runner():
    return SimpleNamespace(iter=4, epoch=0, work_dir='w',
                           logger=mock.MagicMock())


def test_the_term_that_broke_is_named_not_the_total():
    hook = NonFiniteLossHook()
    outputs = dict(loss=torch.tensor(float('nan')),
                   loss_cls=torch.tensor(0.7),
                   loss_kd=torch.tensor(float('nan')))
    with pytest.raises(FloatingPointError) as error:
        hook.after_train_iter(_runner(), 3, outputs=outputs)
    message = str(error.value)
    assert '"loss_kd" is nan' in message
    assert '"loss" is' not in message and 'loss_cls' not in message


def test_a_loss_growing_by_orders_of_magnitude_warns_once():
    hook = NonFiniteLossHook()
    runner = _runner()
    for value in [1.0] * 20 + [1e4, 1e5]:
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(
            value)))
    assert runner.logger.warning.call_count == 1
    message = runner.logger.warning.call_args[0][0]
    assert '"loss" is 1e+04' in message and 'diverging' in message
    quiet = _runner()
    for value in np.linspace(2.0, 0.1, 40):  # a normal, falling loss
        hook.after_train_iter(quiet, 0, outputs=dict(loss_x=torch.tensor(
            value)))
    quiet.logger.warning.assert_not_called()


def test_misspelt_top_level_key_is_found_with_the_intended_one():
    cfg = Config(dict(optim_wraper=dict(), data_root='x', teacher_ckpt='y',
                      param_schedular=[], model=dict()))
    found = misspelt_config_keys(cfg, MedKDRunner.KNOWN_CONFIG_KEYS)
    assert found == [('optim_wraper', 'optim_wrapper'),
                     ('param_schedular', 'param_scheduler')]


@pytest.mark.parametrize('config', sorted(
    osp.relpath(p, ROOT) for p in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p))
def test_no_shipped_config_is_reported(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert misspelt_config_keys(cfg, MedKDRunner.KNOWN_CONFIG_KEYS) == []


def test_the_runner_warns_about_a_misspelt_key(tmp_path):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'w', tmp_path / 'data')
    cfg.optim_wraper = dict(optimizer=dict(type='SGD', lr=1.0))
    with mock.patch('mmengine.logging.MMLogger.warning') as warning:
        build_runner(cfg)
    assert any('optim_wraper' in str(c) and 'optim_wrapper' in str(c)
               for c in warning.call_args_list)


def test_a_class_without_training_samples_stops_before_training(tmp_path):
    rng = np.random.default_rng(0)
    for split in ('train', 'val', 'test'):
        for name in ('a', 'b', 'c', 'd'):
            folder = tmp_path / 'data' / split / name
            folder.mkdir(parents=True)
            if split == 'train' and name == 'c':
                continue  # an empty class folder
            for i in range(2):
                cv2.imwrite(str(folder / f'{i}.png'),
                            rng.integers(0, 255, (16, 16, 3), np.uint8))
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'w', tmp_path / 'unused')
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset = dict(
            type='CustomDataset', data_root=str(tmp_path / 'data'),
            data_prefix=split, classes=('a', 'b', 'c', 'd'),
            pipeline=cfg.test_pipeline)
    with pytest.raises(ValueError, match=r"no training sample of the "
                       r"class\(es\) \['c'\]"):
        build_runner(cfg).train()


def test_two_runs_of_one_work_dir_in_one_second_log_apart(tmp_path):
    """mmengine names the log folder after the start second: a run started
    in the same second as the previous one wrote into its folder."""
    import os
    import time

    from medkd.apis import build_runner
    from conftest import tiny_runner_cfg
    work = tmp_path / 'work'
    now = time.time()
    taken = {time.strftime('%Y%m%d_%H%M%S', time.localtime(now + s))
             for s in range(3)}
    for name in taken:
        os.makedirs(work / name)
    runner = build_runner(tiny_runner_cfg(
        'configs/demo/convnet_student_cells.py', work, tmp_path / 'data',
        epochs=1))
    assert os.path.basename(runner.log_dir) not in taken
