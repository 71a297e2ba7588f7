"""Iteration checkpoints inside epoch-based training (what a SIGKILL loses)."""
import glob
import os
import random
import re
import signal
import subprocess
import time

import pytest
import torch

from medkd.apis import build_runner
from medkd.utils.checkpoint import safe_load
from conftest import train_command, tiny_runner_cfg, write_tiny_config

STUDENT = 'configs/demo/convnet_student_cells.py'


def _cfg(tmp_path, name, epochs=3, resume=False, **checkpoint):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / name, tmp_path / 'data',
                          epochs=epochs, resume=resume)
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    cfg.default_hooks.checkpoint.update(checkpoint)
    return cfg


def test_iteration_checkpoints_are_kept_apart_from_epoch_ones(tmp_path):
    """3 epochs of 4 iterations, iter_interval=3: iter_3, 6, 9, 12 are
    written; the newest 2 are kept while max_keep_ckpts=1 keeps one epoch
    checkpoint."""
    runner = build_runner(_cfg(tmp_path, 'w', iter_interval=3,
                               max_keep_ckpts=1, max_keep_iter_ckpts=2))
    saved = []
    original = runner.save_checkpoint

    def spy(out_dir, filename, *args, **kwargs):
        saved.append(filename)
        return original(out_dir, filename, *args, **kwargs)

    runner.save_checkpoint = spy
    runner.train()
    assert [f for f in saved if f.startswith('iter_')] == [
        'iter_3.pth', 'iter_6.pth', 'iter_9.pth', 'iter_12.pth']
    files = sorted(f for f in os.listdir(tmp_path / 'w') if f.endswith('.pth'))
    assert files == ['epoch_3.pth', 'iter_12.pth', 'iter_9.pth']
    meta = safe_load(str(tmp_path / 'w' / 'iter_9.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (2, 9)  # 3rd epoch, 1 batch in


def test_resume_from_an_iteration_checkpoint_equals_an_uninterrupted_run(
        tmp_path):
    straight = build_runner(_cfg(tmp_path, 'straight'))
    straight.train()
    first = build_runner(_cfg(tmp_path, 'cut', iter_interval=5,
                              max_keep_iter_ckpts=-1))
    first.train()
    # as if killed right after iteration 5 (epoch 2, batch 1)
    work = tmp_path / 'cut'
    for name in os.listdir(work):
        if name.endswith('.pth') and name != 'iter_5.pth':
            os.remove(work / name)
    (work / 'last_checkpoint').write_text(str(work / 'iter_5.pth'))
    resumed = build_runner(_cfg(tmp_path, 'cut', iter_interval=5,
                                resume=True))
    resumed.train()
    assert resumed.iter == 12
    for (name, a), (_, b) in zip(straight.model.state_dict().items(),
                                 resumed.model.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize('options,message', [
    (dict(iter_interval=0), 'iter_interval` must be a positive int'),
    (dict(iter_interval=2, by_epoch=False), 'already counts iterations'),
    (dict(iter_interval=2, max_keep_iter_ckpts=0), 'max_keep_iter_ckpts'),
])
def test_bad_iteration_checkpoint_options_are_refused(tmp_path, options,
                                                      message):
    cfg = _cfg(tmp_path, 'w', **options)
    with pytest.raises(ValueError, match=message):
        build_runner(cfg).train()


def _logged_iterations(work):
    """Iterations the killed run completed, from its log (one line per
    iteration, written before the checkpoint hook of that iteration)."""
    done = 0
    for log in glob.glob(str(work / '*' / '*.log')):
        with open(log) as f:
            for epoch, batch, per in re.findall(
                    r'Epoch\(train\) +\[(\d+)\]\[ *(\d+)/(\d+)\]', f.read()):
                done = max(done, (int(epoch) - 1) * int(per) + int(batch))
    return done


def test_sigkill_at_a_random_iteration_repeats_at_most_n(tmp_path):
    """SIGKILL once the run has logged a random iteration in [4, 20] of 24;
    --resume finishes the 6 configured epochs, and it repeats at most
    iter_interval=3 iterations of those the killed run had completed."""
    interval = 3
    target = random.Random().randint(4, 20)
    cfg = write_tiny_config(
        tmp_path / 'cfg.py', STUDENT, tmp_path / 'data', epochs=6,
        extra=f'default_hooks = dict(checkpoint=dict(iter_interval='
        f'{interval}, max_keep_iter_ckpts=2))')
    work = tmp_path / 'work'
    cmd = train_command(cfg, work)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _logged_iterations(work) < target and proc.poll() is None and \
            time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    completed = _logged_iterations(work)
    assert completed >= target, f'target {target}: the run ended first'
    latest = (work / 'last_checkpoint').read_text()
    start = safe_load(latest)['meta']['iter']

    result = subprocess.run(cmd + ['--resume'], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    final = safe_load((work / 'last_checkpoint').read_text())['meta']
    assert (final['epoch'], final['iter']) == (6, 24)
    repeated = completed - start
    assert 0 <= repeated <= interval, (
        f'killed at iteration {completed} (target {target}), resumed from '
        f'{latest} (iteration {start}): {repeated} repeated')
