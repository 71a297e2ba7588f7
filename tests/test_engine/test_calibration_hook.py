"""Temperature scaling in a run: fitted on val when the final and best
checkpoints are saved, stored in their meta, applied by tools/test.py and
its dumps; --calibrate fits one for any checkpoint."""
import glob

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from medkd.apis import build_runner
from medkd.evaluation.dumped_results import load_results
from medkd.utils.checkpoint import safe_load
from conftest import run_tool, tiny_runner_cfg, write_tiny_config

STUDENT = 'configs/demo/convnet_student_cells.py'
CALIBRATION = "calibration = dict(type='TemperatureScaling')"


def _val_fit(cfg, ckpt):
    """T minimising the val NLL of the raw model of ``ckpt``, by Brent's
    method over log T, from scores the test loop computes (uncalibrated:
    the checkpoint's calibration is removed first)."""
    state = safe_load(ckpt)
    state['meta'].pop('calibration', None)
    raw = ckpt.replace('.pth', '_raw.pth')
    torch.save(state, raw)
    cfg = cfg.copy()
    cfg.pop('calibration', None)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.load_from = raw
    cfg.work_dir = cfg.work_dir + '_fit'
    runner = build_runner(cfg)
    scores, labels = [], []
    runner.test_evaluator.metrics[0].process = (
        lambda batch, samples: [
            (scores.append(s['pred_score'].numpy()),
             labels.append(int(s['gt_label'][0]))) for s in samples])
    runner.test_evaluator.metrics[0].compute_metrics = lambda r: {}
    runner.test()
    log_p = np.log(np.stack(scores).astype(np.float64))
    labels = np.array(labels)

    def nll(s):
        z = log_p / np.exp(s)
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -logp[np.arange(len(labels)), labels].mean()

    best = minimize_scalar(nll, bounds=(-5, 5), method='bounded',
                           options=dict(xatol=1e-10))
    return float(np.exp(best.x)), log_p, labels


@pytest.fixture(scope='module')
def calibrated_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('calibrated')
    cfg = tiny_runner_cfg(STUDENT, tmp / 'work', tmp / 'data', epochs=3)
    cfg.calibration = dict(type='TemperatureScaling')
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        save_best='medical/accuracy',
                                        rule='greater')
    build_runner(cfg).train()
    return tmp, cfg


def test_the_final_checkpoint_holds_the_val_nll_temperature(calibrated_run):
    tmp, cfg = calibrated_run
    final = str(tmp / 'work' / 'epoch_3.pth')
    stored = safe_load(final)['meta']['calibration']
    expected, _, _ = _val_fit(cfg, final)
    assert stored['type'] == 'TemperatureScaling'
    assert stored['temperature'] == pytest.approx(expected, rel=1e-3)
    assert stored['nll_after'] <= stored['nll_before']
    # an intermediate epoch carries a temperature only when mmengine wrote
    # it again as a new best (after that validation): then its own one
    for epoch in (1, 2):
        path = str(tmp / 'work' / f'epoch_{epoch}.pth')
        stored = safe_load(path)['meta'].get('calibration')
        if stored is not None:
            assert stored['temperature'] == pytest.approx(
                _val_fit(cfg, path)[0], rel=1e-3)


def test_the_best_checkpoint_holds_its_own_epochs_temperature(
        calibrated_run):
    tmp, cfg = calibrated_run
    (best, ) = glob.glob(str(tmp / 'work' / 'best_*.pth'))
    stored = safe_load(best)['meta']['calibration']
    expected, _, _ = _val_fit(cfg, best)
    assert stored['temperature'] == pytest.approx(expected, rel=1e-3)


def test_test_tool_dumps_calibrated_scores_with_the_same_accuracy(
        calibrated_run, monkeypatch):
    tmp, cfg = calibrated_run
    config = write_tiny_config(tmp / 'cfg.py', STUDENT, tmp / 'data')
    final = str(tmp / 'work' / 'epoch_3.pth')
    temperature = safe_load(final)['meta']['calibration']['temperature']
    run_tool(monkeypatch, 'test.py', config, final, '--work-dir',
             tmp / 'test', '--out', tmp / 'calibrated.pkl')
    results = load_results(str(tmp / 'calibrated.pkl'))
    raw = np.stack([np.asarray(r['pred_score_uncalibrated'])
                    for r in results]).astype(np.float64)
    calibrated = np.stack([np.asarray(r['pred_score']) for r in results])
    z = np.log(raw) / temperature
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(calibrated, expected, atol=1e-5)
    assert (calibrated.argmax(1) == raw.argmax(1)).all()
    assert [int(r['pred_label']) for r in results] == list(raw.argmax(1))


def test_metrics_report_ece_before_and_after(calibrated_run):
    tmp, cfg = calibrated_run
    cfg = cfg.copy()
    cfg.load_from = str(tmp / 'work' / 'epoch_3.pth')
    cfg.work_dir = str(tmp / 'metrics')
    metrics = build_runner(cfg).test()
    assert {'medical/ece', 'medical/ece_uncalibrated', 'medical/brier',
            'medical/brier_uncalibrated'} <= set(metrics)


def test_calibrate_fits_an_uncalibrated_checkpoint_and_saves_it(
        tmp_path, monkeypatch):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'work', tmp_path / 'data',
                          epochs=1)
    cfg.calibration = None  # trained without (the default calibrates)
    build_runner(cfg).train()
    ckpt = str(tmp_path / 'work' / 'epoch_1.pth')
    assert 'calibration' not in safe_load(ckpt)['meta']
    config = write_tiny_config(tmp_path / 'cfg.py', STUDENT,
                               tmp_path / 'data')
    out = str(tmp_path / 'calibrated.pth')
    run_tool(monkeypatch, 'test.py', config, ckpt, '--work-dir',
             tmp_path / 'test', '--calibrate', '--save-calibrated', out,
             '--out', tmp_path / 'dump.pkl')
    expected, _, _ = _val_fit(cfg, ckpt)
    saved = safe_load(out)
    assert saved['meta']['calibration']['temperature'] == pytest.approx(
        expected, rel=1e-3)
    original = safe_load(ckpt)['state_dict']
    for key, value in saved['state_dict'].items():
        assert torch.equal(value, original[key]), key
    assert 'pred_score_uncalibrated' in load_results(
        str(tmp_path / 'dump.pkl'))[0]


def test_calibration_without_a_val_split_is_refused(tmp_path):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'work', tmp_path / 'data',
                          epochs=1)
    cfg.calibration = dict(type='TemperatureScaling')
    cfg.val_dataloader = None
    cfg.val_cfg = None
    cfg.val_evaluator = None
    with pytest.raises(ValueError, match='`calibration`.*no val_dataloader'):
        build_runner(cfg)
