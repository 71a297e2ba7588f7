"""Run every fold of a K-fold cross-validation and summarise the test metrics.

    python tools/analysis_tools/cross_validate.py CONFIG --folds 5 \
        [--work-dir DIR] [--cfg-options k=v ...] \
        [--fold-cfg-options k=v_with_{fold} ...] [--force]
    # every fold's training on 4 GPUs (or CPU processes):
    python -m torch.distributed.run --nproc_per_node 4 \
        tools/analysis_tools/cross_validate.py CONFIG --launcher pytorch

For fold k the train, val and test datasets of CONFIG (``MultiModalCells``,
directly or inside ``MIMODataset``; all three must read the same annotation
file) get ``num_folds=K`` and ``fold=k``; the model is trained in
``DIR/fold_k`` and its final weights are tested on the held-out fold.
``--fold-cfg-options`` values are formatted with ``{fold}`` per fold, e.g.
each fold's own teacher checkpoint for a KD config. A fold whose
``DIR/fold_k/test_metrics.json`` exists is reused unless ``--force``.

Prints mean ± std (sample standard deviation, ddof=1) of every test metric
over the folds, and writes ``DIR/cv_results.json`` (per-fold values, means,
stds) and ``DIR/cv_results.csv`` (one row per metric).
"""
import argparse
import csv
import json
import os
import os.path as osp
from typing import Dict

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.dist import barrier, is_main_process
from mmengine.logging import MMLogger
from terminaltables import AsciiTable

from medkd.apis import build_runner, close_distributed, summarise
from medkd.apis.train import add_launcher_arguments, parse_launcher_args
from medkd.utils.config import load_config

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--folds', type=int, default=5, help='number of folds (default 5)')
    parser.add_argument(
        '--work-dir',
        help='folder of the fold runs and the '
        'summary (default work_dirs/<config>_cv)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    parser.add_argument(
        '--fold-cfg-options',
        nargs='+',
        action=DictAction,
        help='per-fold overrides; "{fold}" in a value is '
        'replaced by the fold index')
    parser.add_argument(
        '--force',
        action='store_true',
        help='rerun folds that already have test metrics')
    add_launcher_arguments(parser, 'train and test every fold distributed')
    return parse_launcher_args(parser)


def innermost_dataset(dataset_cfg: dict) -> dict:
    """The dataset config inside wrappers (``dataset=dict(...)``)."""
    while isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def set_fold(cfg: Config, num_folds: int, fold: int, config: str) -> None:
    """Give every dataloader's dataset ``num_folds`` and ``fold``."""
    sources = {
        key: (innermost_dataset(cfg[key].dataset).get('type'),
              innermost_dataset(cfg[key].dataset).get('ann_file'))
        for key in LOADERS
    }
    if None in {ann
                for _, ann in sources.values()} or len(set(
                    sources.values())) != 1:
        raise ValueError(
            f'{config}: cross-validation needs train/val/test datasets that '
            'split one annotation file into folds (e.g. MultiModalCells with '
            'the same ann_file); found (type, ann_file) = '
            f'{sources}.')
    for key in LOADERS:
        # A wrapper (MIMODataset) passes these on to the dataset it wraps.
        cfg[key].dataset.update(num_folds=num_folds, fold=fold)


def run_fold(args, fold: int, work_dir: str) -> Dict[str, float]:
    fold_dir = osp.join(work_dir, f'fold_{fold}')
    metrics_file = osp.join(fold_dir, 'test_metrics.json')
    if osp.isfile(metrics_file) and not args.force:
        with open(metrics_file) as f:
            return json.load(f)
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.fold_cfg_options:
        cfg.merge_from_dict({
            k: v.format(fold=fold) if isinstance(v, str) else v
            for k, v in args.fold_cfg_options.items()
        })
    set_fold(cfg, args.folds, fold, args.config)
    cfg.work_dir = fold_dir
    cfg.launcher = args.launcher
    runner = build_runner(cfg)
    runner.train()
    metrics = {
        k: float(v)
        for k, v in runner.test().items()
        if isinstance(v, (int, float, np.floating))
    }
    if is_main_process():
        os.makedirs(fold_dir, exist_ok=True)
        with open(metrics_file, 'w') as f:
            json.dump(metrics, f, indent=2)
    barrier()
    return metrics


def main():
    args = parse_args()
    if args.folds < 2:
        raise SystemExit(f'--folds must be at least 2, got {args.folds}')
    work_dir = args.work_dir or osp.join(
        'work_dirs',
        osp.splitext(osp.basename(args.config))[0] + '_cv')
    logger = MMLogger.get_instance('medkd_cross_validate')
    per_fold = []
    for fold in range(args.folds):
        logger.info(f'=== fold {fold} / {args.folds}')
        per_fold.append(run_fold(args, fold, work_dir))
    mean, std = summarise(per_fold)
    if not is_main_process():
        close_distributed()
        return

    rows = [['metric', 'mean ± std'] +
            [f'fold {k}' for k in range(args.folds)]]
    for key in mean:
        rows.append([key, f'{mean[key]:.4f} ± {std[key]:.4f}'] +
                    [f'{f[key]:.4f}' for f in per_fold])
    table = AsciiTable(rows, title=f'{args.folds}-fold cross-validation')
    print(table.table)

    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'cv_results.json'), 'w') as f:
        json.dump(
            dict(
                config=args.config,
                folds=args.folds,
                per_fold=per_fold,
                mean=mean,
                std=std),
            f,
            indent=2)
    with open(osp.join(work_dir, 'cv_results.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['metric', 'mean', 'std'] +
                        [f'fold_{k}' for k in range(args.folds)])
        for key in mean:
            writer.writerow([key, mean[key], std[key]] +
                            [f[key] for f in per_fold])
    logger.info(f'wrote {work_dir}/cv_results.json and cv_results.csv')
    close_distributed()


if __name__ == '__main__':
    main()
