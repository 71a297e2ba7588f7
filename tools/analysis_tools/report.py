"""An HTML page that compares finished runs (the distillation report).

    python tools/analysis_tools/report.py WORK_DIR [WORK_DIR ...] --out DIR \
        [--names alone kd ...] [--results A.pkl B.pkl ...] [--shape H W]

Each WORK_DIR is a run's work directory: the report reads the config
mmengine saved there, its training scalars and its test predictions
(``WORK_DIR/test_results.pkl``, which ``tools/demo.py`` and
``compare_runs.py`` write; otherwise ``tools/test.py CONFIG CKPT --out
WORK_DIR/test_results.pkl``, or ``--results``). Writes ``DIR/index.html``
and the PNGs it shows: the comparison table with bootstrap 95 % CIs, the
complexity table, confusion matrices, ROC curves, a reliability diagram,
training curves and, for gated runs, gate weights per class. The page
needs no network.
"""
import argparse
import os.path as osp

from medkd.apis.report import build_report
from medkd.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='the runs to compare')
    parser.add_argument('--out', required=True, help='folder of the page')
    parser.add_argument('--names', nargs='+', help='one name per run')
    parser.add_argument('--results', nargs='+',
                        help='one tools/test.py --out dump per run')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help='input size of the complexity table (default: '
                        "the dumps' image size)")
    parser.add_argument('--title', default='medkd distillation report')
    args = parser.parse_args()
    for option in ('names', 'results'):
        given = getattr(args, option)
        if given and len(given) != len(args.work_dirs):
            parser.error(f'{len(given)} --{option} for '
                         f'{len(args.work_dirs)} work directories')
    return args


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    index = build_report(args.work_dirs, args.out, args.names, args.results,
                         args.shape, args.title)
    print(f'wrote {osp.abspath(index)}')


if __name__ == '__main__':
    main()
