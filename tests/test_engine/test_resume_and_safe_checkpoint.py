import glob
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook

from medkd.apis import build_runner
from medkd.utils.checkpoint import UnsafeCheckpointError, safe_load
from conftest import tiny_runner_cfg

STUDENT = 'configs/demo/convnet_student_cells.py'


class Crash(Exception):
    pass


class CrashAfterEpoch(Hook):
    """Simulates a job killed after a given epoch was saved."""

    priority = 'LOWEST'  # after the CheckpointHook saved this epoch

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:  # epochs count from 0 here
            raise Crash


def _train(tmp_path, name, epochs=3, resume=None, crash_after=None):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / name, tmp_path / 'data',
                          epochs=epochs)
    if resume:
        cfg.resume, cfg.load_from = True, resume
    runner = build_runner(cfg)
    if crash_after:
        runner.register_hook(CrashAfterEpoch(crash_after))
        with pytest.raises(Crash):
            runner.train()
    else:
        runner.train()
    return runner


def test_checkpoints_load_with_weights_only_and_resume_continues(tmp_path):
    straight = _train(tmp_path, 'straight')
    first = _train(tmp_path, 'resumed', crash_after=2)
    ckpt2 = osp.join(tmp_path, 'resumed', 'epoch_2.pth')

    # what medkd saved is plain data: torch's weights-only loader accepts it
    checkpoint = torch.load(ckpt2, weights_only=True)
    assert checkpoint['meta']['epoch'] == 2
    iters_per_epoch = len(first.train_dataloader)
    assert checkpoint['meta']['iter'] == 2 * iters_per_epoch
    saved_history = checkpoint['message_hub']['log_scalars']['train/lr']
    assert len(saved_history['log_history']) == 2 * iters_per_epoch

    resumed = _train(tmp_path, 'resumed', resume=ckpt2)
    assert resumed.epoch == 3 and resumed.iter == 3 * iters_per_epoch
    # the message hub history was restored, then extended
    history = resumed.message_hub.get_scalar('train/lr')
    assert len(history.data[0]) == 3 * iters_per_epoch
    # the optimizer and scheduler went on where they stopped: resumed == 3
    # epochs in one go, weights, Adam moments and learning rate alike
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)
    s_opt = straight.optim_wrapper.optimizer.state_dict()
    r_opt = resumed.optim_wrapper.optimizer.state_dict()
    for idx, state in s_opt['state'].items():
        assert state['step'] == r_opt['state'][idx]['step']
        torch.testing.assert_close(r_opt['state'][idx]['exp_avg'],
                                   state['exp_avg'])
    assert (straight.optim_wrapper.get_lr()['lr'] ==
            resumed.optim_wrapper.get_lr()['lr'])


def test_test_tool_path_loads_checkpoint_and_unsafe_file_is_refused(tmp_path):
    _train(tmp_path, 'run', epochs=1)
    ckpt = glob.glob(str(tmp_path / 'run' / 'epoch_1.pth'))[0]
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'test', tmp_path / 'data',
                          load_from=ckpt)
    metrics = build_runner(cfg).test()
    assert 0 <= metrics['medical/accuracy'] <= 100

    class Payload:

        def __reduce__(self):
            return (print, ('code ran', ))

    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': safe_load(ckpt)['state_dict'],
                'x': Payload()}, evil)
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'test2', tmp_path / 'data',
                          load_from=str(evil))
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        build_runner(cfg).test()


def test_resume_keeps_exactly_max_keep_ckpts(tmp_path):
    def train(epochs, resume=None):
        cfg = tiny_runner_cfg(STUDENT, tmp_path / 'keep', tmp_path / 'data',
                              epochs=epochs)
        cfg.default_hooks.checkpoint.max_keep_ckpts = 2
        if resume:
            cfg.resume, cfg.load_from = True, resume
        build_runner(cfg).train()

    def kept():
        return sorted(osp.basename(p)
                      for p in glob.glob(str(tmp_path / 'keep' / 'epoch_*')))

    train(3)
    assert kept() == ['epoch_2.pth', 'epoch_3.pth']
    # the checkpoint's own retention list includes itself
    hub = safe_load(str(tmp_path / 'keep' / 'epoch_3.pth'))['message_hub']
    assert list(hub['runtime_info']['keep_ckpt_ids']) == [2, 3]
    train(5, resume=str(tmp_path / 'keep' / 'epoch_3.pth'))
    assert kept() == ['epoch_4.pth', 'epoch_5.pth']
