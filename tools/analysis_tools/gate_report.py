"""Mean gate weight per teacher, per class, from ``tools/test.py --out``.

    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/analysis_tools/gate_report.py CONFIG results.pkl \
        [--out-png gate.png] [--classes hem all] [--json record.json]

Rows are ground-truth classes, named from ``--classes`` or else the
config's test dataset (and a last row, ``(all samples)``); columns are the
teachers of the config's ``model.teachers`` in order. ``--classes`` must
name every class. With ``--out-png`` a grouped bar chart is saved too;
``--json`` writes the table's record (:func:`medkd.apis.records.
write_record`).
"""
import argparse
import os.path as osp

import numpy as np
from terminaltables import GithubFlavoredMarkdownTable

from medkd.evaluation.dumped_results import (ALL_ROW, class_name_list,
                                             config_class_names,
                                             gate_weight_summary,
                                             load_results)
from medkd.apis.records import write_record
from medkd.utils import register_all_modules
from medkd.visualization import gate_weights_png
from medkd.utils.config import load_config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the GatedMultiTeacher config')
    parser.add_argument('results', help='.pkl written by tools/test.py --out')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--out-png', help='save a bar chart here')
    parser.add_argument('--json', help='also write the table\'s record '
                        '(docs/results/<name>.json) here')
    args = parser.parse_args()

    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config)
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
    table = GithubFlavoredMarkdownTable(rows).table
    print('mean gate weight per teacher')
    print(table)
    if args.json:
        write_record(args.json, table, rows=rows)

    if args.out_png:
        gate_weights_png(means, names, teachers, args.out_png)
        print(f'saved {osp.abspath(args.out_png)}')


if __name__ == '__main__':
    main()
