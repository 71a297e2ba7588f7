"""Is model B better than model A on the same test set? Paired statistics.

    python tools/test.py CONFIG_A CKPT_A --out a.pkl
    python tools/test.py CONFIG_B CKPT_B --out b.pkl
    python tools/analysis_tools/compare_predictions.py a.pkl b.pkl \
        [--n-bootstrap 1000] [--seed 0] [--level 0.95] [--json out.json] \
        [--score-field pred_score] [--pos-label 1] [--decision-threshold T]
        [--threshold-a TA --threshold-b TB]

For accuracy, weighted F1, sensitivity, specificity and AUC (their macro
forms for more than two classes, ``auc_mean`` for multi-label) it prints A,
B, the difference B - A with a paired-bootstrap CI (both models scored on
the same resampled test samples) and its two-sided paired-bootstrap
p-value, plus McNemar's exact test of the two accuracies (single-label).
The dumps must hold the same samples with the same labels (compared by
``sample_idx``, ``img_path`` where stored, and ground truth); anything else
is refused, naming both files.

When the dumps name each sample's patient (``patient_id``: C-NMC, CheXpert,
the Kather slide, the multimodal donor) the bootstrap resamples patients,
the same ones for both models (cluster bootstrap); the printed title says
the unit. Binary tasks: ``--pos-label`` is the positive class of
sensitivity / specificity; ``--decision-threshold`` puts both models at one
threshold, ``--threshold-a`` / ``--threshold-b`` each at its own (e.g. its
Youden threshold chosen on val, ``tools/test.py --youden-threshold``).
"""
import argparse
import math

import mmengine
import numpy as np
from terminaltables import AsciiTable

from medkd.evaluation.dumped_results import load_predictions, load_results
from medkd.evaluation.statistics import (mcnemar_exact, paired_bootstrap,
                                         resampling_groups)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('a', help='dump of model A (tools/test.py --out)')
    parser.add_argument('b', help='dump of model B, same test samples')
    parser.add_argument('--n-bootstrap', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--level', type=float, default=0.95)
    parser.add_argument('--score-field', default='pred_score')
    parser.add_argument('--thr', type=float, default=0.5,
                        help='multi-label score threshold')
    parser.add_argument('--pos-label', type=int, default=1,
                        help='binary: the positive class (default 1)')
    parser.add_argument('--decision-threshold', type=float,
                        help='binary: positive from this score (both models)')
    parser.add_argument('--threshold-a', type=float,
                        help="binary: model A's own decision threshold")
    parser.add_argument('--threshold-b', type=float,
                        help="binary: model B's own decision threshold")
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    if args.decision_threshold is not None and (
            args.threshold_a is not None or args.threshold_b is not None):
        parser.error('--decision-threshold sets both models\' threshold: '
                     'give it, or --threshold-a / --threshold-b')
    if args.decision_threshold is not None:
        args.threshold_a = args.threshold_b = args.decision_threshold
    return args


def _sample_keys(results):
    keys = []
    for i, result in enumerate(results):
        keys.append((result.get('sample_idx', i), result.get('img_path')))
    return keys


def check_same_samples(a_path, a_results, b_path, b_results, a_preds,
                       b_preds):
    """Refuse dumps that are not the same samples in the same order."""
    problem = None
    if len(a_results) != len(b_results):
        problem = f'{len(a_results)} vs {len(b_results)} samples'
    elif _sample_keys(a_results) != _sample_keys(b_results):
        problem = 'different sample indices or image paths'
    elif a_preds.labels.shape != b_preds.labels.shape or not np.array_equal(
            a_preds.labels, b_preds.labels):
        problem = 'different ground-truth labels'
    elif a_preds.scores.shape != b_preds.scores.shape:
        problem = (f'scores of shape {a_preds.scores.shape} vs '
                   f'{b_preds.scores.shape}')
    if problem:
        raise ValueError(
            f'{a_path} and {b_path} are not predictions of the same test '
            f'samples ({problem}); run tools/test.py with the same test '
            'split for both models.')


def dump_groups(a_path, a_results, b_path, b_results):
    """The samples' ``patient_id`` when both dumps name every one (and the
    same), else None (resample images)."""
    groups = [resampling_groups([r.get('patient_id') for r in results])
              for results in (a_results, b_results)]
    if groups[0] != groups[1]:
        raise ValueError(f'{a_path} and {b_path} name different patients '
                         '(patient_id) for the same samples')
    return groups[0]


def _predictions(scores, threshold, pos_label):
    if threshold is None:
        return scores.argmax(1)
    return np.where(scores[:, pos_label] >= threshold, pos_label,
                    1 - pos_label)


def compare(a_path, b_path, n_bootstrap=1000, seed=0, level=0.95,
            score_field='pred_score', thr=0.5, decision_threshold=None,
            pos_label=1, thresholds=None):
    """The comparison as a dict (see the module docstring); ``thresholds``
    ``(t_a, t_b)``: each model's own binary threshold."""
    a_results, b_results = load_results(a_path), load_results(b_path)
    a = load_predictions(a_results, score_field=score_field)
    b = load_predictions(b_results, score_field=score_field)
    check_same_samples(a_path, a_results, b_path, b_results, a, b)
    groups = dump_groups(a_path, a_results, b_path, b_results)
    if thresholds is None:
        thresholds = (decision_threshold, decision_threshold)
    if any(t is not None for t in thresholds) and (
            a.multi_label or a.scores.shape[1] != 2):
        raise ValueError('decision thresholds apply to binary tasks; '
                         f'{a_path} has {a.scores.shape[1]} '
                         f'{"labels" if a.multi_label else "classes"}')
    kwargs = dict(thr=thr)
    if not a.multi_label and a.scores.shape[1] == 2:
        kwargs['pos_label'] = pos_label
    paired = paired_bootstrap(
        a.scores,
        b.scores,
        a.labels,
        multi_label=a.multi_label,
        mask=a.mask,
        n_bootstrap=n_bootstrap,
        seed=seed,
        level=level,
        groups=groups,
        decision_thresholds=thresholds,
        **kwargs)
    summary = dict(
        a=a_path,
        b=b_path,
        samples=len(a.scores),
        unit='patient' if groups is not None else 'image',
        patients=len(set(groups)) if groups is not None else None,
        thresholds=list(thresholds),
        n_bootstrap=n_bootstrap,
        level=level,
        metrics={key: value._asdict()
                 for key, value in paired.items()})
    if not a.multi_label:
        preds = [_predictions(p.scores, t, pos_label)
                 for p, t in zip((a, b), thresholds)]
        summary['mcnemar'] = mcnemar_exact(preds[0] == a.labels,
                                           preds[1] == a.labels)
    return summary


def main():
    args = parse_args()
    summary = compare(args.a, args.b, args.n_bootstrap, args.seed, args.level,
                      args.score_field, args.thr, pos_label=args.pos_label,
                      thresholds=(args.threshold_a, args.threshold_b))
    pct = f'{args.level * 100:g}%'
    rows = [['metric', 'A', 'B', 'B - A', f'{pct} CI', 'p (bootstrap)']]
    for key, r in summary['metrics'].items():
        fmt = '{:.4f}' if key.startswith('auc') else '{:.2f}'
        rows.append([
            key,
            fmt.format(r['a']),
            fmt.format(r['b']),
            fmt.format(r['diff']),
            f'[{fmt.format(r["ci_low"])}, {fmt.format(r["ci_high"])}]',
            f'{r["p_value"]:.4f}'
        ])
    print(
        AsciiTable(
            rows,
            title=f'{summary["samples"]} paired samples, '
            f'{args.n_bootstrap} bootstrap resamples of the '
            + (f'{summary["patients"]} patients' if summary['unit'] ==
               'patient' else 'images')).table)
    if 'mcnemar' in summary:
        m = summary['mcnemar']
        print(f"McNemar's exact test (accuracy): A right / B wrong "
              f"{m['only_a']}, B right / A wrong {m['only_b']}, "
              f"p = {m['p_value']:.4g}" +
              (' (counts images, as if independent: with several images '
               'per patient quote the patient bootstrap p above)'
               if summary['unit'] == 'patient' else ''))
    if args.json:
        mmengine.dump(_without_nan(summary), args.json, indent=2)


def _without_nan(value):
    """NaN (an undefined metric) as null, so the JSON is valid."""
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


if __name__ == '__main__':
    main()
