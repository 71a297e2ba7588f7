"""Mean gate weight per teacher, per class, from ``tools/test.py --out``.

    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/analysis_tools/gate_report.py CONFIG results.pkl \
        [--out-png gate.png] [--classes hem all]

Rows are ground-truth classes (and all samples); columns are the teachers of
the config's ``model.teachers`` in order. With ``--out-png`` a grouped bar
chart is saved too.
"""
import argparse
import os.path as osp

import numpy as np
from mmengine.config import Config
from terminaltables import AsciiTable

from medkd.evaluation.dumped_results import load_results


def gate_weight_summary(results, num_classes=None):
    """Per-class mean gate weights.

    Args:
        results (list[dict]): Dumped predictions, each with ``gate_weights``
            (K,) and ``gt_label``.
        num_classes (int, optional): Number of classes; defaults to the
            largest label + 1.

    Returns:
        tuple: ``(means, counts)``: ``(num_classes + 1, K)`` mean weights
        (last row: all samples) and ``(num_classes + 1,)`` sample counts.
    """
    if not results or 'gate_weights' not in results[0]:
        raise KeyError('the results have no "gate_weights": were they '
                       'dumped by tools/test.py --out from a '
                       'GatedMultiTeacher config?')
    weights = np.stack([np.asarray(r['gate_weights']) for r in results])
    labels = np.array([int(np.asarray(r['gt_label']).reshape(-1)[0])
                       for r in results])
    num_classes = num_classes or int(labels.max()) + 1
    means = np.zeros((num_classes + 1, weights.shape[1]))
    counts = np.zeros(num_classes + 1, dtype=int)
    for c in range(num_classes):
        counts[c] = (labels == c).sum()
        if counts[c]:
            means[c] = weights[labels == c].mean(0)
    means[-1], counts[-1] = weights.mean(0), len(weights)
    return means, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the GatedMultiTeacher config')
    parser.add_argument('results', help='.pkl written by tools/test.py --out')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--out-png', help='save a bar chart here')
    args = parser.parse_args()

    teachers = list(Config.fromfile(args.config).model.teachers)
    results = load_results(args.results)
    means, counts = gate_weight_summary(
        results, len(args.classes) if args.classes else None)
    if means.shape[1] != len(teachers):
        raise ValueError(f'{args.results} has {means.shape[1]} gate weights '
                         f'per sample but {args.config} has teachers '
                         f'{teachers}')
    names = list(args.classes or [f'class {c}'
                                  for c in range(len(means) - 1)]) + ['all']
    rows = [['class', 'samples'] + teachers]
    for name, count, row in zip(names, counts, means):
        rows.append([name, str(count)] + [f'{w:.3f}' for w in row])
    table = AsciiTable(rows, title='mean gate weight per teacher')
    print(table.table)

    if args.out_png:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        x = np.arange(len(names))
        width = 0.8 / len(teachers)
        fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(names), 3.5))
        for k, teacher in enumerate(teachers):
            ax.bar(x + k * width, means[:, k], width, label=teacher)
        ax.set_xticks(x + width * (len(teachers) - 1) / 2, names)
        ax.set_ylabel('mean gate weight')
        ax.set_ylim(0, 1)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out_png, dpi=120)
        print(f'saved {osp.abspath(args.out_png)}')


if __name__ == '__main__':
    main()
