"""Mean gate weight per teacher, per class, from ``tools/test.py --out``.

    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/analysis_tools/gate_report.py CONFIG results.pkl \
        [--out-png gate.png] [--classes hem all]

Rows are ground-truth classes, named from ``--classes`` or else the
config's test dataset (and a last row, ``(all samples)``); columns are the
teachers of the config's ``model.teachers`` in order. ``--classes`` must
name every class. With ``--out-png`` a grouped bar chart is saved too.
"""
import argparse
import os.path as osp

import numpy as np
from mmengine.config import Config
from terminaltables import AsciiTable

from medkd.evaluation.dumped_results import (class_name_list,
                                             config_class_names, load_results)
from medkd.utils import register_all_modules

#: The label of the row over all samples (not a class name: C-NMC has a
#: class called ``all``).
ALL_ROW = '(all samples)'


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

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    teachers = list(cfg.model.teachers)
    results = load_results(args.results)
    classes = args.classes or config_class_names(cfg)
    labels = {int(np.asarray(r['gt_label']).reshape(-1)[0]) for r in results}
    num_classes = len(classes) if classes else max(labels) + 1
    if max(labels) >= num_classes:
        raise ValueError(
            f'{args.results} has labels up to {max(labels)} but '
            f'{"--classes" if args.classes else args.config} names only '
            f'{num_classes} classes {list(classes)}; name every class.')
    means, counts = gate_weight_summary(results, num_classes)
    if means.shape[1] != len(teachers):
        raise ValueError(f'{args.results} has {means.shape[1]} gate weights '
                         f'per sample but {args.config} has teachers '
                         f'{teachers}')
    names = class_name_list(classes, num_classes) + [ALL_ROW]
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
