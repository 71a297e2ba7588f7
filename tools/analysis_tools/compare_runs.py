"""Train and test several configs over several seeds; one mean ± std table.

    python tools/analysis_tools/compare_runs.py CONFIG [CONFIG ...] \
        --seeds 3 [--names A B ...] [--work-dir DIR] [--train-metrics] \
        [--metrics medical/accuracy medical/f1_weighted medical/auc] \
        [--cfg-options k=v ...] [--json OUT] [--force]

Config ``i`` with seed ``s`` trains in ``DIR/<name i>/seed_<s>``
(``randomness.seed = s``); a run whose ``seed_metrics.json`` exists is
reused unless ``--force``. Each run's final checkpoint (never a checkpoint
chosen on val or test) is evaluated on the config's val and test splits
(and, with ``--train-metrics``, on its training images with the test
pipeline). Choose hyper-parameters on the **val** columns; report test.

Prints, per config, the val and test value of each metric as mean ± sample
std over the seeds (a markdown table), and writes its record (the command,
medkd's commit and code fingerprint, the table, every run's numbers, the
means and the stds; :func:`medkd.apis.records.write_record`) to ``--json``
(default ``DIR/compare_runs.json``). ``--cfg-options`` apply to
every config (e.g. a teacher checkpoint shared by KD configs).
"""
import argparse
import os.path as osp
import time

from mmengine.config import DictAction
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis import metric_cell, run_seed, seed_work_dir, summarise
from medkd.apis.records import write_record
from medkd.utils.config import load_config

DEFAULT_METRICS = ('medical/accuracy', 'medical/f1_weighted', 'medical/auc')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--seeds', type=int, default=3,
                        help='seeds 0 .. N-1 (default 3)')
    parser.add_argument('--names', nargs='+',
                        help='row names (default: config file names)')
    parser.add_argument('--work-dir', default='work_dirs/compare_runs')
    parser.add_argument('--metrics', nargs='+', default=DEFAULT_METRICS,
                        help='metric keys to show')
    parser.add_argument('--train-metrics', action='store_true',
                        help='also evaluate on the training images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config')
    parser.add_argument('--json', help='where to write the numbers')
    parser.add_argument('--force', action='store_true',
                        help='retrain runs that already finished')
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f'--seeds must be >= 1, got {args.seeds}')
    names = args.names or [
        osp.splitext(osp.basename(c))[0] for c in args.configs
    ]
    if len(names) != len(args.configs) or len(set(names)) != len(names):
        parser.error(f'--names needs one distinct name per config; got '
                     f'{names} for {len(args.configs)} configs')
    args.names = names
    return args


def compare(configs, names, seeds, work_dir, cfg_options=None,
            train_metrics=False, force=False):
    """``{name: {'runs': [per-seed results], 'mean': {split: ...},
    'std': {split: ...}}}`` for every config."""
    summary = {}
    for path, name in zip(configs, names):
        cfg = load_config(path, cfg_options)
        runs = [
            run_seed(cfg, seed_work_dir(work_dir, name, seed), seed,
                     train_metrics=train_metrics, force=force)
            for seed in range(seeds)
        ]
        splits = [s for s in ('train', 'val', 'test') if s in runs[0]]
        stats = {s: summarise([r[s] for r in runs]) for s in splits}
        summary[name] = dict(
            config=path,
            runs=runs,
            mean={s: stats[s][0] for s in splits},
            std={s: stats[s][1] for s in splits})
    return summary


def table(summary, metrics, seeds):
    """``(title, markdown table)``: one row per config, ``split metric``
    columns."""
    splits = [s for s in ('train', 'val', 'test')
              if s in next(iter(summary.values()))['mean']]
    header = ['config'] + [f'{s} {m.split("/")[-1]}' for s in splits
                           for m in metrics]
    rows = [header]
    for name, entry in summary.items():
        digits = {m: 4 if 'auc' in m else 2 for m in metrics}
        rows.append([name] + [
            metric_cell([r[s] for r in entry['runs']], m, digits[m])
            for s in splits for m in metrics
        ])
    title = ('one seed: value [bootstrap 95% CI of the test samples]'
             if seeds == 1 else f'mean ± std over {seeds} seeds')
    return title, GithubFlavoredMarkdownTable(rows).table


def main():
    args = parse_args()
    start = time.time()
    summary = compare(args.configs, args.names, args.seeds, args.work_dir,
                      args.cfg_options, args.train_metrics, args.force)
    missing = [m for m in args.metrics
               if m not in next(iter(summary.values()))['mean']['test']]
    if missing:
        raise SystemExit(f'metrics {missing} are not reported by the '
                         'configs\' evaluators; available: '
                         f'{sorted(next(iter(summary.values()))["mean"]["test"])}')
    title, text = table(summary, args.metrics, args.seeds)
    print(title)
    print(text)
    out = args.json or osp.join(args.work_dir, 'compare_runs.json')
    write_record(out, text, time.time() - start, runs=summary)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
