"""Medical metrics of the predictions dumped by ``tools/test.py --out``.

    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/analysis_tools/metrics_report.py results.pkl \
        [--classes hem all] [--config CONFIG] [--json metrics.json] \
        [--score-field pred_score] [--multi-label] [--thr 0.5]

Prints every value of ``MedicalMetric`` (accuracy, macro and weighted
precision / recall / sensitivity / F1 / specificity: percent; AUC values: in
[0, 1]) and the number of samples per class. As mmpretrain's
``eval_metric.py``: the dump is evaluated offline by mmengine's
``Evaluator.offline_evaluate`` with the metric ``tools/test.py`` uses,
after medkd's safe unpickler read it. Class names (used
by the per-label AUC keys of multi-label results) come from ``--classes``,
else from ``--config``'s test dataset, else indices. ``--json`` also writes
the values (undefined AUCs as null).
"""
import argparse
import math
import os.path as osp

import mmengine
import numpy as np
from mmengine.evaluator import Evaluator
from terminaltables import AsciiTable

from medkd.evaluation.dumped_results import (class_name_list,
                                             config_class_names,
                                             load_predictions, load_results)
from medkd.utils import register_all_modules
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('results', help='.pkl written by tools/test.py --out')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--config', help='take class names from this config')
    parser.add_argument('--score-field', default='pred_score',
                        help="scores to use, e.g. 'pred_score_<teacher>'")
    parser.add_argument('--multi-label', action='store_true', default=None,
                        help='multi-label results (default: detected)')
    parser.add_argument('--thr', type=float, default=0.5,
                        help='multi-label score threshold')
    parser.add_argument('--json', help='also write the values here')
    return parser.parse_args()


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    results = load_results(args.results)
    preds = load_predictions(results, score_field=args.score_field,
                             multi_label=args.multi_label)
    names = args.classes
    if names is None and args.config:
        names = config_class_names(load_config(args.config))
    names = class_name_list(names, preds.scores.shape[1])
    evaluator = Evaluator(dict(type='MedicalMetric',
                               multi_label=preds.multi_label, thr=args.thr,
                               score_field=args.score_field))
    evaluator.dataset_meta = dict(classes=names)
    metrics = {key.split('/', 1)[1]: value for key, value in
               evaluator.offline_evaluate(results).items()}

    rows = [['metric', 'value']]
    for key, value in metrics.items():
        fmt = '{:.4f}' if key.startswith('auc') else '{:.2f}'
        rows.append([key, fmt.format(value)])
    title = (f'{osp.basename(args.results)}: {len(preds.scores)} samples, '
             f'{"multi-label" if preds.multi_label else "single-label"}')
    print(AsciiTable(rows, title=title).table)

    if preds.multi_label:
        support = preds.labels.sum(0) if preds.mask is None else (
            preds.labels * preds.mask).sum(0)
        header = ['label', 'positives']
    else:
        support = np.bincount(preds.labels, minlength=len(names))
        header = ['class', 'samples']
    rows = [header] + [[name, str(int(n))] for name, n in zip(names, support)]
    print(AsciiTable(rows).table)

    if args.json:
        mmengine.dump(
            {k: None if math.isnan(v) else v for k, v in metrics.items()},
            args.json, indent=2)
        print(f'saved {osp.abspath(args.json)}')


if __name__ == '__main__':
    main()
