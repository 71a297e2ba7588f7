"""Whole-run cost of the teacher-output cache against live teachers.

    python tools/analysis_tools/benchmark_cache.py CONFIG [--epochs 10] \
        [--views 8] [--interval 5] [--work-dir work_dirs/benchmark_cache] \
        [--cfg-options k=v ...]

Trains CONFIG (a distiller config) three times from the same seed, in one
process, one after the other: with live teachers (no ``teacher_cache``),
with a cache of every view built before training
(``teacher_cache.build='all'``, what medkd did before) and with a cache
filled as training draws (sample, view) pairs (``build='lazy'``, the
default). ``--interval`` sets a checkpoint sequence's
``model.route.interval`` (epochs per route checkpoint). Prints, per mode,
the wall time of training (data loading and validation included) and the
number of images the teachers processed (cache builds included).
"""
import argparse
import copy
import os.path as osp
import time

from mmengine.config import Config, DictAction
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis import build_runner
from medkd.utils.config import load_config
from medkd.apis.records import write_record
from medkd.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--views', type=int, default=8)
    parser.add_argument('--interval', type=int,
                        help="a checkpoint sequence's route interval")
    parser.add_argument('--work-dir', default='work_dirs/benchmark_cache')
    parser.add_argument('--json', help='also write the table\'s record '
                        '(docs/results/<name>.json) here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def run(cfg: Config, work_dir: str) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    runner = build_runner(cfg)
    seen = []
    for teacher in runner.model.teachers.values():  # live passes only
        teacher.model.register_forward_hook(
            lambda module, args, out: seen.append(args[0].shape[0]))
    start = time.perf_counter()
    runner.train()
    return dict(seconds=time.perf_counter() - start, images=sum(seen))


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)
    cfg.train_cfg.max_epochs = args.epochs
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=args.epochs,
                                        max_keep_ckpts=1)
    if args.interval:
        cfg.model.route = dict(cfg.model.route, interval=args.interval)
    modes = {'live teachers': None,
             "cache, build='all' (every view first; before)": 'all',
             "cache, build='lazy' (filled as drawn; now)": 'lazy'}
    results, start = {}, time.perf_counter()
    for index, (name, build) in enumerate(modes.items()):
        mode_cfg = copy.deepcopy(cfg)
        if build is None:
            mode_cfg.pop('teacher_cache', None)
        else:
            mode_cfg.teacher_cache = dict(
                mode_cfg.get('teacher_cache') or {}, num_views=args.views,
                build=build)
        results[name] = run(mode_cfg, osp.join(args.work_dir, f'mode{index}'))
    live = results['live teachers']
    rows = [['mode', 'training (s)', '× live', 'teacher images',
             '× live']]
    for name, r in results.items():
        rows.append([name, f'{r["seconds"]:.1f}',
                     f'{r["seconds"] / live["seconds"]:.2f}',
                     f'{r["images"]:,}',
                     f'{r["images"] / live["images"]:.2f}'])
    print(f'{args.config}: {args.epochs} epochs, {args.views} views'
          + (f', route interval {args.interval}' if args.interval else ''))
    table = GithubFlavoredMarkdownTable(rows).table
    print(table)
    if args.json:
        write_record(args.json, table, time.perf_counter() - start,
                     results=results)


if __name__ == '__main__':
    main()
