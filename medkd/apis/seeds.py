"""Repeated runs of one config over random seeds, and their summary.

Used by ``tools/analysis_tools/compare_runs.py`` and ``tools/demo.py
--seeds``: a run of ``cfg`` with seed ``s`` trains in ``{work_dir}``
(``randomness.seed = s``), is evaluated on its val and test splits (and
optionally on its training images with the test pipeline, to see
under-fitting), and stores the numbers in ``{work_dir}/seed_metrics.json``
so that a finished run is reused, and the test predictions in
``{work_dir}/test_results.pkl`` (what ``tools/test.py --out`` writes).
"""
import copy
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.logging import MMLogger

from medkd.utils.checkpoint import file_sha256

from .evaluate import (add_results_dump, medical_metrics_of,
                       set_metric_options, skip_teacher_loading)
from .stages import final_checkpoint
from .train import build_runner

METRICS_FILE = 'seed_metrics.json'
FINGERPRINT_FILE = 'run_fingerprint.txt'
#: The test split's per-sample predictions (``tools/test.py --out``
#: format), read by ``tools/analysis_tools/report.py``.
RESULTS_FILE = 'test_results.pkl'


def _named_files(value) -> List[str]:
    """Every existing file a config names (teacher checkpoints, route
    manifests, ``load_from``), in config order."""
    if isinstance(value, dict):
        return [f for v in value.values() for f in _named_files(v)]
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in _named_files(v)]
    if isinstance(value, str) and osp.isfile(value):
        return [value]
    return []


def code_fingerprint() -> str:
    """SHA-256 of medkd's version and the source of every module of the
    installed ``medkd`` package: runs of older code are never reused."""
    import medkd
    root = osp.dirname(osp.abspath(medkd.__file__))
    digest = hashlib.sha256(medkd.__version__.encode())
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith('.py'):
                path = osp.join(folder, name)
                digest.update(osp.relpath(path, root).encode())
                with open(path, 'rb') as f:
                    digest.update(f.read())
    return digest.hexdigest()


def run_fingerprint(cfg: Config) -> str:
    """SHA-256 of what a run's result depends on: the config (its
    ``work_dir`` excluded), the bytes of every file the config names
    (teacher checkpoints, route manifests, ``load_from``) and medkd's code
    (:func:`code_fingerprint`). A finished run is reused only when its
    fingerprint is today's."""
    settings = copy.deepcopy(cfg).to_dict()
    settings.pop('work_dir', None)
    digest = hashlib.sha256(
        json.dumps(settings, sort_keys=True, default=repr).encode())
    digest.update(code_fingerprint().encode())
    for path in _named_files(cfg.to_dict()):
        digest.update(f'{path}:{file_sha256(path)}'.encode())
    return digest.hexdigest()


def _read(path: str) -> Optional[str]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return f.read().strip()


def _numbers(metrics: dict) -> Dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float, np.floating, np.integer))
    }


def _evaluate(cfg: Config,
              ckpt: str,
              dump: Optional[str] = None,
              train_metrics: bool = False) -> Dict[str, Dict[str, float]]:
    """``{'val': ..., 'test': ...[, 'train': ...]}`` metrics of ``ckpt``
    from one runner, with calibrated scores (the checkpoint's temperature,
    or one fitted on val when it has none; the metrics carry
    ``ece_uncalibrated`` too): val with the config's val evaluator, test with
    bootstrap CIs (when the evaluator has a MedicalMetric) and the
    predictions dumped to ``dump``; ``train_metrics``: also the training
    images with the test pipeline."""
    cfg = copy.deepcopy(cfg)
    # every row's scores calibrated: the checkpoint's own temperature, or
    # one fitted on val now (a config with `calibration = None`)
    cfg.calibration = dict(cfg.get('calibration')
                           or dict(type='TemperatureScaling'), fit='missing')
    if medical_metrics_of(cfg.test_evaluator):
        set_metric_options(cfg, 'test_evaluator', 'ci', ci=True)
    if dump:
        add_results_dump(cfg, dump)
    skip_teacher_loading(cfg)
    cfg.load_from = ckpt
    runner = build_runner(cfg)
    results = dict(val=_numbers(runner.val()), test=_numbers(runner.test()))
    if train_metrics:
        cfg.test_dataloader = train_split_as_test(cfg)
        cfg.test_evaluator = cfg.val_evaluator
        results['train'] = _numbers(build_runner(cfg).test())
    return results


def train_split_as_test(cfg: Config) -> dict:
    """The train dataloader with the test pipeline, no shuffling."""
    loader = copy.deepcopy(cfg.train_dataloader)
    loader.dataset.pipeline = copy.deepcopy(
        cfg.test_dataloader.dataset.pipeline)
    loader.sampler = dict(type='DefaultSampler', shuffle=False)
    return loader


def run_seed(cfg: Config,
             work_dir: str,
             seed: int,
             train_metrics: bool = False,
             force: bool = False) -> Dict[str, Dict[str, float]]:
    """Train ``cfg`` with ``seed`` (or reuse the finished run) and evaluate.

    Args:
        cfg (Config): A full training config.
        work_dir (str): The run's work directory.
        seed (int): ``randomness.seed``.
        train_metrics (bool): Also evaluate on the training images (test
            pipeline). Defaults to False.
        force (bool): Retrain even if the run finished. Defaults to False.
            A finished run whose config or named files (teacher
            checkpoints, :func:`run_fingerprint`) changed is retrained
            whatever ``force`` says, with a warning naming the directory.

    Returns:
        dict: ``{'val': metrics, 'test': metrics[, 'train': metrics],
        'checkpoint': path, 'seed': seed, 'fingerprint': ...}``, each
        metrics dict ``{metric key: value}`` of the final checkpoint (never the best on val or
        test); the test metrics carry bootstrap 95 % CIs
        (``<metric>_ci_low`` / ``_ci_high``).
    """
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
    fingerprint = run_fingerprint(cfg)
    fingerprint_file = osp.join(work_dir, FINGERPRINT_FILE)
    metrics_file = osp.join(work_dir, METRICS_FILE)
    results_file = osp.join(work_dir, RESULTS_FILE)
    saved_fingerprint = _read(fingerprint_file)
    if not force and osp.isfile(metrics_file):
        if saved_fingerprint != fingerprint:
            MMLogger.get_current_instance().warning(
                f'{work_dir} holds a run of another config or other teacher '
                'files than this one (run_fingerprint differs): retraining '
                'it')
            force = True
        elif osp.isfile(results_file):
            with open(metrics_file) as f:
                saved = json.load(f)
            if not train_metrics or 'train' in saved:
                return saved
    ckpt = None if force or saved_fingerprint != fingerprint else \
        final_checkpoint(work_dir, cfg)
    if ckpt is None:
        os.makedirs(work_dir, exist_ok=True)
        if osp.isfile(metrics_file):
            os.remove(metrics_file)
        with open(fingerprint_file, 'w') as f:
            f.write(fingerprint + '\n')
        build_runner(cfg).train()
        ckpt = final_checkpoint(work_dir, cfg)
    results = _evaluate(cfg, ckpt, results_file, train_metrics)
    results.update(checkpoint=ckpt, seed=seed, fingerprint=fingerprint)
    os.makedirs(work_dir, exist_ok=True)
    with open(metrics_file, 'w') as f:
        json.dump(results, f, indent=2)
    return results


def summarise(runs: Sequence[Dict[str, float]]
              ) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Mean and sample std (ddof=1; 0 for one run) of every numeric metric
    over runs (seeds or folds)."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    values = {k: np.array([float(r[k]) for r in runs]) for k in keys}
    mean = {k: float(v.mean()) for k, v in values.items()}
    std = {
        k: float(v.std(ddof=1)) if len(v) > 1 else 0.0
        for k, v in values.items()
    }
    return mean, std


def mean_std_cell(values: List[float], digits: int = 2) -> str:
    """``'mean ± std'`` of ``values`` (sample std; just the value for one)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 1:
        return f'{values[0]:.{digits}f}'
    return (f'{values.mean():.{digits}f} ± '
            f'{values.std(ddof=1):.{digits}f}')


def metric_cell(runs: Sequence[Dict[str, float]],
                key: str,
                digits: int = 2) -> str:
    """One table cell of ``key`` over runs: ``'mean ± std'`` over several
    runs; for a single run its value with the bootstrap CI,
    ``'v [low, high]'``, when the run has one."""
    values = [float(r[key]) for r in runs]
    low, high = f'{key}_ci_low', f'{key}_ci_high'
    if len(runs) == 1 and low in runs[0] and high in runs[0]:
        return (f'{values[0]:.{digits}f} [{float(runs[0][low]):.{digits}f}, '
                f'{float(runs[0][high]):.{digits}f}]')
    return mean_std_cell(values, digits)


def seed_work_dir(root: str, name: str, seed: int) -> str:
    """``{root}/{name}/seed_{seed}``."""
    return osp.join(root, name, f'seed_{seed}')


