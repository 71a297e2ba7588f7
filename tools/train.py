"""Train a model (a classifier or a distiller) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
    bash tools/dist_train.sh CONFIG NUM_PROCS [same options]
"""
import argparse

from mmengine.config import DictAction

from medkd.apis import (build_runner, close_distributed, enable_amp,
                        set_work_dir)
from medkd.apis.train import (add_launcher_arguments, importable_cwd,
                              parse_launcher_args)
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a medkd model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a path, from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision (fp16 on CUDA, bf16 autocast on the CPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual / the base batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'model.teachers.swin.ckpt=path/to/ckpt.pth')
    add_launcher_arguments(parser)
    return parse_launcher_args(parser)


def main():
    args = parse_args()
    importable_cwd()  # custom_imports of the user's own modules
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        if cfg.get('calibration'):
            print('--no-validate: the checkpoints are not calibrated either '
                  '(`calibration` is fitted on the val split); '
                  'tools/test.py --calibrate fits it later.')
            cfg.calibration = None
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(f'--auto-scale-lr needs `auto_scale_lr = dict('
                           f'base_batch_size=...)` in {args.config}')
        cfg.auto_scale_lr.enable = True
    try:
        build_runner(cfg).train()
    except SystemExit:
        # a preemption stop (PreemptionHook): every rank stops after the
        # same iteration, so the group can be closed here rather than in
        # the interpreter's teardown, which can abort a gloo rank
        close_distributed()
        raise
    close_distributed()


if __name__ == '__main__':
    main()
