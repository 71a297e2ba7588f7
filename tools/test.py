"""Evaluate a checkpoint on the test split of a config.

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl]
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [same options]

``--out`` dumps every sample's prediction (scores, labels and method outputs
such as per-sample gate weights) with mmengine's ``DumpResults``.
``--ci`` adds 95 % percentile-bootstrap intervals (``medical/<metric>_ci_low``
/ ``_ci_high``, 1000 resamples of the test samples). ``--youden-threshold``
(binary tasks) first evaluates the checkpoint on the *val* split, takes the
positive-class threshold maximising Youden's J there, and applies it to
test; the test metrics then carry it as ``medical/decision_threshold``.
A checkpoint whose meta holds a calibration (a config with
``calibration = dict(type='TemperatureScaling')`` fits one when training)
is tested with calibrated scores; ``--calibrate`` fits the temperature on
the *val* split now (for any checkpoint), the metrics then carry both
``medical/ece`` and ``medical/ece_uncalibrated``, and ``--save-calibrated
FILE`` writes the checkpoint with that calibration in its meta.
A distiller config is tested from its checkpoint alone: its teachers'
files are read only with ``model.eval_teachers=True``.
"""
import argparse

from mmengine.config import DictAction

from medkd.apis import build_runner, close_distributed, set_work_dir
from medkd.apis.evaluate import save_calibrated
from medkd.apis.evaluate import (add_results_dump, medical_metrics_of,
                                 set_metric_options, skip_teacher_loading,
                                 youden_from_val)
from medkd.apis.train import (add_launcher_arguments, importable_cwd,
                              parse_launcher_args)
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test a medkd model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument('--out', help='dump per-sample predictions (.pkl)')
    parser.add_argument(
        '--ci',
        action='store_true',
        help='add bootstrap 95%% confidence intervals to the test metrics')
    parser.add_argument(
        '--youden-threshold',
        action='store_true',
        help='binary tasks: choose the decision threshold on val (Youden) '
        'and apply it to test')
    parser.add_argument(
        '--calibrate',
        action='store_true',
        help='fit temperature scaling on the val split and test with '
        'calibrated scores')
    parser.add_argument(
        '--save-calibrated',
        metavar='FILE',
        help='with --calibrate: write the checkpoint with the fitted '
        'calibration in its meta to FILE')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    add_launcher_arguments(parser)
    args = parse_launcher_args(parser)
    if args.save_calibrated and not args.calibrate:
        parser.error('--save-calibrated needs --calibrate')
    return args


def main():
    args = parse_args()
    importable_cwd()  # custom_imports of the user's own modules
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    skipped = skip_teacher_loading(cfg)
    if skipped:
        print(f'Teachers {skipped} are not loaded: their files are not '
              'needed to test the student (model.eval_teachers=True scores '
              'them too).')
    if args.ci:
        set_metric_options(cfg, 'test_evaluator', '--ci', ci=True)
    if args.calibrate:
        cfg.calibration = dict(cfg.get('calibration')
                               or dict(type='TemperatureScaling'),
                               fit='evaluation')
    if args.youden_threshold:
        thresholds = youden_from_val(cfg, args.checkpoint)
        set_metric_options(cfg, 'test_evaluator', '--youden-threshold')
        for entry in medical_metrics_of(cfg.test_evaluator):
            prefix = entry.get('prefix') or 'medical'
            if prefix not in thresholds:
                raise ValueError(
                    f'--youden-threshold: the test MedicalMetric {prefix!r} '
                    f'has no val counterpart (val: {sorted(thresholds)}).')
            entry['decision_threshold'] = thresholds[prefix]
            print(f'Youden threshold chosen on val for {prefix}: '
                  f'{thresholds[prefix]:.4f}')
    if args.out:
        add_results_dump(cfg, args.out)
    runner = build_runner(cfg)
    runner.test()
    if args.save_calibrated:
        save_calibrated(runner, args.checkpoint, args.save_calibrated)
    close_distributed()


if __name__ == '__main__':
    main()
