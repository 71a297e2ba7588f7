"""Parameters, FLOPs, size and CPU latency of every network in a config.

    python tools/analysis_tools/get_flops.py CONFIG [--shape 224 224] \
        [--repeats 20] [--ckpt-size CKPT] [--cfg-options ...]

One row per network: the student and each teacher of a distiller config, or
the single model of a classifier config (the papers' complexity tables).
Columns: parameters (millions), FLOPs (billions of multiply-adds for one
image, mmengine's count), size (MB of 2**20 bytes, the float32 state dict
as saved by ``torch.save``) and CPU latency (median ms of ``--repeats``
batch-1 forwards under ``torch.no_grad`` after a warm-up). A teacher with
``resize_input`` is measured at that size. Teacher checkpoints are not
loaded (complexity does not depend on the weights), so the config's
``ckpt`` files need not exist. ``--ckpt-size`` also reports the size of a
checkpoint file (for a classifier config it replaces the size column).
"""
import argparse
import math
import os.path as osp

import torch
from mmengine.config import DictAction
from terminaltables import AsciiTable

from medkd.apis.complexity import distiller_parts, model_complexity
from medkd.apis.inference import model_config, without_teacher_files
from medkd.models.distillers import is_distiller
from medkd.registry import MODELS
from medkd.utils import register_all_modules
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='distiller or classifier config')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224],
                        metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--in-channels', type=int, default=3,
                        help='input channels')
    parser.add_argument('--repeats', type=int, default=20,
                        help='timed forwards per network (0: no timing)')
    parser.add_argument('--ckpt-size', metavar='CKPT',
                        help='also report the size of this checkpoint file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args()


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.ckpt_size and not osp.isfile(args.ckpt_size):
        raise SystemExit(f'--ckpt-size: no file {args.ckpt_size}')
    if is_distiller(cfg.model):
        without_teacher_files(cfg.model)  # random weights count the same
    # built as tools/train.py builds it (with the config's preprocessor)
    model = MODELS.build(model_config(cfg)).eval()
    parts = distiller_parts(model)
    input_sizes = ({name: teacher.resize_input
                    for name, teacher in model.teachers.items()}
                   if is_distiller(model) else {})

    rows = [['model', 'input', 'params (M)', 'FLOPs (G)', 'size (MB)',
             'latency (ms)']]
    for name, part in parts.items():
        size = input_sizes.get(name) or tuple(args.shape)
        shape = (args.in_channels, *size)
        stats = model_complexity(part, shape, repeats=args.repeats)
        size_mb = stats['size_mb']
        latency = stats['latency_ms']
        if args.ckpt_size and name == 'model':
            size_mb = osp.getsize(args.ckpt_size) / 2**20
        rows.append([
            name, 'x'.join(map(str, shape)), f'{stats["params"] / 1e6:.4g}',
            f'{stats["flops"] / 1e9:.4g}', f'{size_mb:.2f}',
            '-' if math.isnan(latency) else f'{latency:.2f}'
        ])
    title = (f'{osp.basename(args.config)}: batch 1, CPU, '
             f'{torch.get_num_threads()} threads')
    print(AsciiTable(rows, title=title).table)
    if args.ckpt_size:
        print(f'checkpoint {args.ckpt_size}: '
              f'{osp.getsize(args.ckpt_size) / 2**20:.2f} MB')


if __name__ == '__main__':
    main()
