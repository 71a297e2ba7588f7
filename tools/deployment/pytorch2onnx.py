"""Export the student of a config to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG CKPT --out student.onnx \
        [--shape 224 224] [--bake-preprocessing] [--opset 17] [--atol 1e-4]

CKPT is a distiller checkpoint (its ``student.`` weights are exported) or
the student's own checkpoint (e.g. from
``tools/model_converters/extract_student.py``); it is read with
``torch.load(weights_only=True)``. The graph maps ``input`` to ``(N,
num_classes)`` ``logits``, with a dynamic batch axis: a normalised ``(N, C,
H, W)`` float batch (as after the config's data preprocessor), or with
``--bake-preprocessing`` ``(N, H, W, C)`` ``uint8`` images as
``LoadImageFromFile`` reads them after the test pipeline's resizing (the
channel flip and mean / std are in the graph). In every case
``<out>.json`` records what a deployment needs besides the graph: input
size, channel order, mean / std, the test pipeline's resizing, class
names and head kind (read by ``tools/deployment/onnx_infer.py``). Prints
the max absolute difference between onnxruntime and PyTorch on a random
batch and exits with status 1 when it exceeds ``--atol``.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from medkd.apis.export import (build_student, deployment_info, export_onnx,
                               write_sidecar)
from medkd.apis.inference import model_config
from medkd.utils import register_all_modules
from medkd.utils.config import load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='distiller or classifier config')
    parser.add_argument('checkpoint', help='distiller or student checkpoint')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224],
                        metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--in-channels', type=int, default=3,
                        help='input channels')
    parser.add_argument('--bake-preprocessing', action='store_true',
                        help='uint8 images in, the preprocessor in the graph')
    parser.add_argument('--opset', type=int, default=17,
                        help='ONNX opset version')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest accepted |onnxruntime - PyTorch|')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args()


def pipeline_size(steps: list):
    """``(H, W)`` the test pipeline's last fixed-size step gives, if any."""
    size = None
    for step in steps:
        value = step.get('scale' if step['type'] == 'Resize' else
                         'crop_size')
        if value is not None:
            width, height = (value, value) if isinstance(value,
                                                         int) else value
            size = (height, width)
    return size


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # the student with the config's preprocessor, as tools/test.py has it
    student = build_student(model_config(cfg, part='student'),
                            args.checkpoint)
    shape = (args.in_channels, *args.shape)
    info = deployment_info(cfg, student, shape, args.bake_preprocessing)
    fixed = pipeline_size(info['test_pipeline'])
    if fixed is not None and tuple(args.shape) != fixed:
        raise SystemExit(
            f'--shape {args.shape[0]} {args.shape[1]}, but the test pipeline '
            f'of {args.config} makes {fixed[0]}x{fixed[1]} images: export '
            f'with --shape {fixed[0]} {fixed[1]}')
    diff = export_onnx(student, args.out, shape, args.opset,
                       bake_preprocessing=args.bake_preprocessing)
    sidecar = write_sidecar(args.out, info)
    layout = (f'(N, {shape[1]}, {shape[2]}, {shape[0]}) uint8'
              if args.bake_preprocessing else
              f'(N, {shape[0]}, {shape[1]}, {shape[2]}) normalised')
    print(f'saved {osp.abspath(args.out)} (input {layout}, opset '
          f'{args.opset}) and {osp.abspath(sidecar)}')
    print(f'max abs difference onnxruntime vs PyTorch: {diff:.3e} '
          f'(atol {args.atol:g})')
    if diff > args.atol:
        print(f'FAILED: the difference exceeds --atol {args.atol:g}',
              file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
