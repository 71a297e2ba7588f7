import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook

from medkd.apis import build_runner
from medkd.utils.checkpoint import safe_load
from conftest import train_command, free_port, tiny_runner_cfg, write_tiny_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/demo/convnet_student_cells.py'


def _last(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_sigkill_then_resume_finishes_the_configured_epochs(tmp_path):
    # 6 epochs of 32 images; killed as soon as the first checkpoint appears
    cfg = write_tiny_config(tmp_path / 'cfg.py', STUDENT, tmp_path / 'data',
                            epochs=6)
    work = tmp_path / 'work'
    cmd = train_command(cfg, work)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # wait for the first checkpoint by `last_checkpoint`, which stays
    # (`epoch_1.pth` itself is removed by max_keep_ckpts=1 an epoch later,
    # and a poll that missed it used to wait out the whole deadline while
    # the run finished, testing nothing)
    deadline = time.time() + 240
    while (not osp.exists(work / 'last_checkpoint')
           and proc.poll() is None and time.time() < deadline):
        time.sleep(0.05)
    assert proc.poll() is None, 'the run ended before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = sorted(f for f in os.listdir(work) if f.startswith('epoch_'))
    assert saved, 'no checkpoint before the kill'
    # whatever the kill interrupted, the latest checkpoint is a whole file
    before = safe_load(_last(work))
    assert before['meta']['epoch'] >= 1

    result = subprocess.run(cmd + ['--resume'], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resumed epoch: {before['meta']['epoch']}" in (result.stdout +
                                                           result.stderr)
    final = safe_load(_last(work))
    assert final['meta']['epoch'] == 6
    assert final['meta']['iter'] == 6 * 4


def test_kill_while_writing_a_checkpoint_never_leaves_it_as_latest(
        tmp_path, monkeypatch):
    put = LocalBackend.put

    def dying_put(self, obj, filepath):
        if 'epoch_2' in str(filepath):
            put(self, obj[:len(obj) // 2], filepath)  # half written
            raise KeyboardInterrupt('killed while saving')
        put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', dying_put)
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'work', tmp_path / 'data',
                          epochs=3)
    with pytest.raises(KeyboardInterrupt):
        build_runner(cfg).train()
    monkeypatch.setattr(LocalBackend, 'put', put)
    work = tmp_path / 'work'
    assert not osp.exists(work / 'epoch_2.pth')
    assert osp.exists(work / '.epoch_2.pth.part')
    assert _last(work).endswith('epoch_1.pth')

    cfg = tiny_runner_cfg(STUDENT, work, tmp_path / 'data', epochs=3,
                          resume=True)
    runner = build_runner(cfg)
    runner.train()
    assert runner.epoch == 3
    assert safe_load(_last(work))['meta']['epoch'] == 3


class PoisonWeights(Hook):
    """Makes the student's weights NaN before a given iteration."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at_iter:
            with torch.no_grad():
                next(runner.model.parameters()).fill_(float('nan'))


def test_nonfinite_loss_stops_with_term_and_iteration_and_keeps_checkpoint(
        tmp_path):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'work', tmp_path / 'data',
                          epochs=3)
    runner = build_runner(cfg)
    runner.register_hook(PoisonWeights(at_iter=6))  # epoch 2, 4 iters/epoch
    with pytest.raises(FloatingPointError,
                       match=r'"loss" is nan at iteration 6 \(epoch 2'):
        runner.train()
    work = tmp_path / 'work'
    assert _last(work).endswith('epoch_1.pth')
    assert not osp.exists(work / 'epoch_2.pth')
    state = safe_load(str(work / 'epoch_1.pth'))['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())


def test_class_count_mismatch_fails_before_training(tmp_path):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'work', tmp_path / 'data')
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.num_classes = 3
    with pytest.raises(ValueError, match=r'train_dataloader.dataset '
                       r'\(SyntheticCells\) has 3 classes .* but '
                       r'model.head.num_classes is 4'):
        build_runner(cfg).train()
    assert not any(f.endswith('.pth') for f in os.listdir(tmp_path / 'work'))


def test_a_kill_while_saving_the_best_checkpoint_keeps_the_previous_best(
        tmp_path):
    """The new best_*.pth is written before the previous one is deleted."""
    import glob
    import os.path as osp

    from medkd.apis import build_runner

    cfg = tiny_runner_cfg('configs/demo/convnet_student_cells.py',
                          tmp_path / 'w', tmp_path / 'data', epochs=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        save_best='medical/accuracy',
                                        rule='greater')
    runner = build_runner(cfg)
    runner.train()
    hook = next(h for h in runner.hooks
                if type(h).__name__ == 'AtomicCheckpointHook')
    (old, ) = glob.glob(str(tmp_path / 'w' / 'best_*.pth'))
    score = runner.message_hub.get_info('best_score')
    runner.train_loop._epoch = 2  # a later epoch improves on it
    saver = runner.save_checkpoint

    def killed(out_dir, filename, *args, **kwargs):
        if filename.startswith('best_'):
            raise KeyboardInterrupt('killed while writing the best')
        return saver(out_dir, filename, *args, **kwargs)

    runner.save_checkpoint = killed
    with pytest.raises(KeyboardInterrupt):
        hook._save_best_checkpoint(runner, {'medical/accuracy': score + 1})
    assert osp.isfile(old)  # the previous best survived the kill
    assert hook.best_ckpt_path == old
    runner.save_checkpoint = saver
    hook._save_best_checkpoint(runner, {'medical/accuracy': score + 2})
    (new, ) = glob.glob(str(tmp_path / 'w' / 'best_*.pth'))
    assert new != old and new.endswith('epoch_2.pth')


def start_two_ranks(cfg, work, log_dir):
    """``tools/train.py --launcher pytorch`` as ranks 0 and 1 of a 2-process
    group, each started as its own launcher would (RANK, WORLD_SIZE, ...);
    output in ``log_dir/rank<r>.log``."""
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, MASTER_ADDR='127.0.0.1',
                   MASTER_PORT=str(port), WORLD_SIZE='2', RANK=str(rank),
                   LOCAL_RANK=str(rank))
        log = open(log_dir / f'rank{rank}.log', 'w')
        procs.append(subprocess.Popen(
            [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg,
             '--work-dir', str(work), '--launcher', 'pytorch'],
            env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def test_when_one_rank_is_killed_the_other_exits_with_an_error(tmp_path):
    """Two CPU processes (gloo, ``env_cfg.dist_cfg.timeout`` 30 s), started
    as two separate launchers would start them; rank 1 is SIGKILLed once
    training runs: rank 0 stops with an error instead of waiting forever."""
    cfg = write_tiny_config(
        tmp_path / 'cfg.py', STUDENT, tmp_path / 'data', epochs=200,
        extra="env_cfg = dict(dist_cfg=dict(backend='gloo', timeout=30))")
    work = tmp_path / 'work'
    procs = start_two_ranks(cfg, work, tmp_path)
    deadline = time.time() + 240
    while not osp.exists(work / 'epoch_1.pth') and time.time() < deadline:
        assert procs[0].poll() is None, (tmp_path / 'rank0.log').read_text()
        time.sleep(0.05)
    assert osp.exists(work / 'epoch_1.pth'), 'training did not start'
    procs[1].send_signal(signal.SIGKILL)
    killed_at = time.time()
    try:
        code = procs[0].wait(timeout=90)
    except subprocess.TimeoutExpired:
        procs[0].kill()
        pytest.fail('rank 0 still running 90 s after rank 1 was killed')
    assert code != 0
    assert time.time() - killed_at < 90


class _SignalAt(Hook):
    """Sends this process ``signum`` after training iteration ``at``."""

    priority = 'NORMAL'  # before the PreemptionHook (LOWEST) of that iter

    def __init__(self, at, signum=signal.SIGTERM):
        self.at, self.signum = at, signum

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize('signum,code', [(signal.SIGTERM, 143),
                                         (signal.SIGINT, 130)])
def test_a_signal_mid_epoch_saves_and_resume_equals_an_uninterrupted_run(
        tmp_path, signum, code):
    """3 epochs of 4 iterations; the signal arrives after iteration 6 (the
    middle of epoch 2). The resumed run skips the 2 batches of epoch 2 it
    had trained: its final weights equal the uninterrupted run's."""
    from medkd.apis import build_runner

    def cfg(name, **kwargs):
        c = tiny_runner_cfg(STUDENT, tmp_path / name, tmp_path / 'data',
                            epochs=3, **kwargs)
        c.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
        return c

    straight = build_runner(cfg('straight'))
    straight.train()
    handlers = (signal.getsignal(signal.SIGTERM),
                signal.getsignal(signal.SIGINT))
    runner = build_runner(cfg('stopped'))
    runner.register_hook(_SignalAt(6, signum))
    with pytest.raises(SystemExit) as stop:
        runner.train()
    assert stop.value.code == code
    saved = tmp_path / 'stopped' / 'iter_6.pth'
    assert (tmp_path / 'stopped' / 'last_checkpoint').read_text() == str(
        saved)
    meta = safe_load(str(saved))['meta']
    assert (meta['epoch'], meta['iter']) == (1, 6)  # epoch index 1 = 2nd
    # the handlers installed before the run are back (Python's
    # default_int_handler in a terminal, SIG_IGN in a background job)
    assert (signal.getsignal(signal.SIGTERM),
            signal.getsignal(signal.SIGINT)) == handlers

    resumed = build_runner(cfg('stopped', resume=True))
    seen = []
    resumed.register_hook(_Record(seen))
    resumed.train()
    assert resumed.iter == 12 and seen[0] == 7 and len(seen) == 6
    for (name, a), (_, b) in zip(straight.model.state_dict().items(),
                                 resumed.model.state_dict().items()):
        assert torch.equal(a, b), name


class _Record(Hook):

    def __init__(self, seen):
        self.seen = seen

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.seen.append(runner.iter + 1)


def test_sigterm_to_one_rank_stops_both_at_the_same_iteration(tmp_path):
    """The stop flag is all-reduced: rank 1 alone gets SIGTERM, both ranks
    save-and-exit after the same iteration with code 143."""
    cfg = write_tiny_config(tmp_path / 'cfg.py', STUDENT, tmp_path / 'data',
                            epochs=200)
    work = tmp_path / 'work'
    procs = start_two_ranks(cfg, work, tmp_path)
    deadline = time.time() + 240
    while not osp.exists(work / 'epoch_1.pth') and time.time() < deadline:
        time.sleep(0.05)
    procs[1].send_signal(signal.SIGTERM)
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [143, 143]
    saved = (work / 'last_checkpoint').read_text()
    assert osp.basename(saved).startswith('iter_')
    assert safe_load(saved)['meta']['iter'] == int(
        osp.basename(saved)[len('iter_'):-len('.pth')])


def test_a_failed_run_gives_the_signal_handlers_back(tmp_path):
    """PreemptionHook's handlers are removed when training raises too."""
    from medkd.apis import build_runner

    class Boom(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            raise RuntimeError('boom')

    before = (signal.getsignal(signal.SIGTERM),
              signal.getsignal(signal.SIGINT))
    runner = build_runner(tiny_runner_cfg(STUDENT, tmp_path / 'w',
                                          tmp_path / 'data', epochs=1))
    runner.register_hook(Boom())
    with pytest.raises(RuntimeError, match='boom'):
        runner.train()
    assert (signal.getsignal(signal.SIGTERM),
            signal.getsignal(signal.SIGINT)) == before


SIGNAL_TESTS = [
    'test_a_signal_mid_epoch_saves_and_resume_equals_an_uninterrupted_run',
    'test_a_failed_run_gives_the_signal_handlers_back',
]


@pytest.mark.skipif(os.environ.get('MEDKD_INNER_SIG_IGN') == '1',
                    reason='already the run under an inherited SIG_IGN')
def test_the_signal_tests_pass_when_started_from_a_background_job(tmp_path):
    """A background job (``nohup pytest &``, a scheduler) inherits SIGINT as
    SIG_IGN: the signal tests run again in a child that starts so, and
    still pass (medkd restores what was installed, not Python's default)."""
    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    selector = ' or '.join(SIGNAL_TESTS)
    env = dict(os.environ, MEDKD_INNER_SIG_IGN='1')
    probe = subprocess.run(
        [sys.executable, '-c', 'import signal; '
         'print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)'],
        preexec_fn=ignore_sigint, capture_output=True, text=True)
    assert probe.stdout.strip() == 'True'  # the child really starts ignoring
    done = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         osp.abspath(__file__), '-k', selector, '--basetemp',
         str(tmp_path / 'inner')],
        cwd=ROOT, env=env, preexec_fn=ignore_sigint, capture_output=True,
        text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '3 passed' in done.stdout, done.stdout[-2000:]


def test_a_standalone_evaluation_of_a_save_best_config_works(tmp_path):
    """``runner.val()`` / ``runner.test()`` outside training (the demo's
    final evaluation, ``tools/test.py``) with ``save_best`` set: no best
    checkpoint is written and nothing fails (mmengine's hook sets its file
    backend only in ``before_train``)."""
    import glob

    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'w', tmp_path / 'data',
                          epochs=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        save_best='medical/accuracy',
                                        rule='greater')
    build_runner(cfg).train()
    best = glob.glob(str(tmp_path / 'w' / 'best_*.pth'))
    assert len(best) == 1
    cfg.load_from = str(tmp_path / 'w' / 'epoch_1.pth')
    cfg.work_dir = str(tmp_path / 'evaluation')
    runner = build_runner(cfg)
    metrics = runner.val()
    assert 0 <= metrics['medical/accuracy'] <= 100
    assert runner.test()['medical/accuracy'] >= 0
    assert not glob.glob(str(tmp_path / 'evaluation' / 'best_*.pth'))
    assert glob.glob(str(tmp_path / 'w' / 'best_*.pth')) == best
