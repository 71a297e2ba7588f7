"""Repeated runs of one config over random seeds, and their summary.

Used by ``tools/analysis_tools/compare_runs.py`` and ``tools/demo.py
--seeds``: a run of ``cfg`` with seed ``s`` trains in ``{work_dir}``
(``randomness.seed = s``), is evaluated on its val and test splits (and
optionally on its training images with the test pipeline, to see
under-fitting), and stores the numbers in ``{work_dir}/seed_metrics.json``
so that a finished run is reused.
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from .evaluate import medical_metrics_of, set_metric_options
from .stages import final_checkpoint
from .train import build_runner

METRICS_FILE = 'seed_metrics.json'


def _numbers(metrics: dict) -> Dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float, np.floating, np.integer))
    }


def _evaluate(cfg: Config,
              ckpt: str,
              loader: str,
              ci: bool = False) -> Dict[str, float]:
    """Test ``ckpt`` on ``cfg``'s ``loader`` (e.g. ``'val_dataloader'``),
    with bootstrap CIs when ``ci`` and the evaluator has a MedicalMetric."""
    cfg = copy.deepcopy(cfg)
    cfg.test_dataloader = cfg[loader]
    cfg.test_evaluator = cfg.get(
        loader.replace('dataloader', 'evaluator'), cfg.test_evaluator)
    if ci and medical_metrics_of(cfg.test_evaluator):
        set_metric_options(cfg, 'test_evaluator', 'ci', ci=True)
    cfg.load_from = ckpt
    return _numbers(build_runner(cfg).test())


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

    Returns:
        dict: ``{'val': metrics, 'test': metrics[, 'train': metrics],
        'checkpoint': path, 'seed': seed}``, each metrics dict ``{metric
        key: value}`` of the final checkpoint (never the best on val or
        test); the test metrics carry bootstrap 95 % CIs
        (``<metric>_ci_low`` / ``_ci_high``).
    """
    metrics_file = osp.join(work_dir, METRICS_FILE)
    if osp.isfile(metrics_file) and not force:
        with open(metrics_file) as f:
            saved = json.load(f)
        if not train_metrics or 'train' in saved:
            return saved
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
    ckpt = None if force else final_checkpoint(work_dir, cfg)
    if ckpt is None:
        build_runner(cfg).train()
        ckpt = final_checkpoint(work_dir, cfg)
    results = dict(
        val=_evaluate(cfg, ckpt, 'val_dataloader'),
        test=_evaluate(cfg, ckpt, 'test_dataloader', ci=True))
    if train_metrics:
        cfg.train_as_test_dataloader = train_split_as_test(cfg)
        results['train'] = _evaluate(cfg, ckpt, 'train_as_test_dataloader')
    results.update(checkpoint=ckpt, seed=seed)
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


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` plus ``--cfg-options``."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
