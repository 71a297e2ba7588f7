"""Confusion matrix of the predictions dumped by ``tools/test.py --out``.

    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/analysis_tools/confusion_matrix.py CONFIG results.pkl \
        [--out-png cm.png] [--classes hem all] [--score-field pred_score]

Rows are ground-truth classes, columns predicted classes (the arg-max of
the scores), computed as mmpretrain's ``confusion_matrix.py`` does: the
dump (read by medkd's safe unpickler) evaluated offline with mmpretrain's
``ConfusionMatrix`` metric through ``Evaluator.offline_evaluate``. Prints the counts and the row-normalised matrix (percent of
each true class, so the diagonal is the per-class sensitivity); with
``--out-png`` saves both as heat maps. Class names come from ``--classes``,
else from the config's test dataset, else indices.
"""
import argparse
import os.path as osp

from mmengine.evaluator import Evaluator
from terminaltables import AsciiTable

from medkd.evaluation.dumped_results import (class_name_list,
                                             config_class_names,
                                             load_predictions, load_results)
from medkd.utils import register_all_modules
from medkd.visualization import confusion_png, row_normalise
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the config the results come from')
    parser.add_argument('results', help='.pkl written by tools/test.py --out')
    parser.add_argument('--classes', nargs='+', help='class names')
    parser.add_argument('--score-field', default='pred_score',
                        help="scores to use, e.g. 'pred_score_<teacher>'")
    parser.add_argument('--out-png', help='save the heat maps here')
    return parser.parse_args()


def matrix_table(matrix, names, fmt, title):
    rows = [['true \\ pred'] + names]
    rows += [[name] + [fmt.format(v) for v in row]
             for name, row in zip(names, matrix)]
    return AsciiTable(rows, title=title).table


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    results = load_results(args.results)
    preds = load_predictions(results, score_field=args.score_field)
    if preds.multi_label:
        raise SystemExit(f'{args.results} holds multi-label predictions: a '
                         'confusion matrix needs one class per sample (see '
                         'tools/analysis_tools/metrics_report.py)')
    num_classes = preds.scores.shape[1]
    names = class_name_list(
        args.classes or config_class_names(load_config(args.config)),
        num_classes)
    evaluator = Evaluator(
        dict(type='ConfusionMatrix', num_classes=num_classes))
    counts = evaluator.offline_evaluate([
        dict(pred_score=r[args.score_field], gt_label=r['gt_label'])
        for r in results
    ])['confusion_matrix/result'].numpy()
    percent = row_normalise(counts)
    print(matrix_table(counts, names, '{:d}',
                       f'confusion matrix ({len(preds.labels)} samples)'))
    print(matrix_table(percent, names, '{:.1f}',
                       'row-normalised (% of each true class)'))
    if args.out_png:
        confusion_png(counts, names, args.out_png)
        print(f'saved {osp.abspath(args.out_png)}')


if __name__ == '__main__':
    main()
