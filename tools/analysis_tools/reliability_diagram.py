"""Reliability diagram of one or more ``tools/test.py --out`` dumps.

    python tools/analysis_tools/reliability_diagram.py alone.pkl kd.pkl \
        --names alone kd --out reliability.png [--bins 15] [--json bins.json]

For each dump: the top-class confidence of every prediction is binned into
``--bins`` equal-width bins, and the fraction correct per bin is drawn
against the mean confidence (a calibrated model lies on the diagonal). The
legend gives each model's ECE (the same value as ``medical/ece``). For a
multi-label dump every unmasked (sample, label) entry counts as one binary
prediction (``score >= --thr``), pooled over labels.
"""
import argparse
import os.path as osp

import mmengine
import numpy as np

from medkd.evaluation.dumped_results import load_predictions
from medkd.evaluation.metrics.calibration import NUM_BINS, binary_confidences
from medkd.visualization import reliability_png


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('results', nargs='+', help='dumps of tools/test.py')
    parser.add_argument('--names', nargs='+', help='one name per dump')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--bins', type=int, default=NUM_BINS)
    parser.add_argument('--score-field', default='pred_score')
    parser.add_argument('--thr', type=float, default=0.5,
                        help='multi-label score threshold')
    parser.add_argument('--json', help='also write the bins here')
    args = parser.parse_args()
    if args.names and len(args.names) != len(args.results):
        parser.error(f'{len(args.names)} --names for {len(args.results)} '
                     'dumps')
    return args


def confidences(path, score_field='pred_score', thr=0.5):
    """``(confidence, correct)`` of every prediction in a dump."""
    preds = load_predictions(path, score_field=score_field)
    if not preds.multi_label:
        return (preds.scores.max(1),
                preds.scores.argmax(1) == preds.labels)
    keep = (np.ones(preds.scores.shape, bool)
            if preds.mask is None else preds.mask.astype(bool))
    return binary_confidences(preds.scores[keep], preds.labels[keep], thr)


def main():
    args = parse_args()
    names = args.names or [
        osp.splitext(osp.basename(p))[0] for p in args.results
    ]
    drawn = reliability_png(
        {name: confidences(path, args.score_field, args.thr)
         for name, path in zip(names, args.results)}, args.out, args.bins)
    saved = {}
    for (name, entry), path in zip(drawn.items(), args.results):
        bins = entry['bins']
        saved[name] = dict(
            file=path,
            ece=entry['ece'],
            edges=bins.edges.tolist(),
            count=bins.count.tolist(),
            confidence=[None if np.isnan(v) else v
                        for v in bins.confidence.tolist()],
            accuracy=[None if np.isnan(v) else v
                      for v in bins.accuracy.tolist()])
    print(f'wrote {args.out}: ' + ', '.join(
        f'{n} ECE {v["ece"]:.2f}%' for n, v in saved.items()))
    if args.json:
        mmengine.dump(saved, args.json, indent=2)


if __name__ == '__main__':
    main()
