"""Grad-CAM of the student and every teacher, side by side.

    python tools/visualization/vis_cam.py CONFIG CKPT IMG [IMG ...] \
        --out-dir DIR [--target-layers student=backbone.blocks.2 \
        resnet18=backbone.layer4] [--method gradcam] [--panel-size H W]

Writes ``DIR/grad_cam.png``: one row per image, columns: the input, the
student's map, then each teacher's (a classifier config gives one map).
Each map explains the class the network predicts, and the table printed
lists those predictions. Images go through the config's test pipeline and
the model's data preprocessor; a teacher with ``resize_input`` sees the
resized batch, as in training. CKPT is a distiller checkpoint (student and
teachers are taken from it, the config's teacher ``ckpt`` files are not
needed) or the student's own checkpoint (teachers then load the config's
``ckpt`` files). The default target layer of a network is the last module of
its backbone whose output is a ``(N, C, H, W)`` map; ``--target-layers``
overrides it per network (``NAME=MODULE``, module names relative to the
classifier, or a bare ``MODULE`` for all networks).
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import DictAction
from mmengine.dataset import Compose
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM, XGradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from terminaltables import AsciiTable

from medkd.apis.inference import build_model as build_config_model
from medkd.evaluation.dumped_results import config_class_names
from medkd.models.calibration import model_calibration
from medkd.models.head_kind import head_kind
from medkd.registry import TRANSFORMS
from medkd.utils import register_all_modules
from medkd.apis.complexity import TensorModeWrapper, distiller_parts
from medkd.utils.config import load_config

METHODS = {
    'gradcam': GradCAM,
    'gradcam++': GradCAMPlusPlus,
    'xgradcam': XGradCAM,
    'layercam': LayerCAM,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='distiller or classifier config')
    parser.add_argument('checkpoint', help='distiller or student checkpoint')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--target-layers', nargs='+', default=[],
                        metavar='[NAME=]MODULE',
                        help='target module per network (default: the '
                        'last 4-D output of the backbone)')
    parser.add_argument('--method', choices=sorted(METHODS),
                        default='gradcam', help='CAM method')
    parser.add_argument('--panel-size', type=int, nargs=2,
                        metavar=('H', 'W'),
                        help='size of each panel (default: the first '
                        'image after the test pipeline)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args()


def build_model(cfg, checkpoint):
    """The config's model with its data preprocessor (as tools/test.py
    builds it) and the checkpoint's weights, in eval mode."""
    model = build_config_model(cfg, checkpoint)
    # Grad-CAM needs gradients through the (frozen) teachers too
    return model.requires_grad_(True).eval()


def default_target_layer(classifier: nn.Module, inputs: torch.Tensor) -> str:
    """Name of the last backbone module that outputs a 4-D map."""
    root = getattr(classifier, 'backbone', classifier)
    prefix = 'backbone.' if root is not classifier else ''
    found = []
    handles = [
        module.register_forward_hook(
            lambda m, i, out, name=name: found.append(name)
            if isinstance(out, torch.Tensor) and out.dim() == 4 else None)
        for name, module in root.named_modules() if name
    ]
    try:
        with torch.no_grad():
            classifier(inputs, mode='tensor')
    finally:
        for handle in handles:
            handle.remove()
    if not found:
        raise RuntimeError(f'no module of {type(root).__name__} outputs a '
                           '(N, C, H, W) map: give --target-layers')
    return prefix + found[-1]


def target_layers(names, overrides):
    """``{network: module name or None}`` from ``--target-layers``."""
    chosen = dict.fromkeys(names)
    for item in overrides:
        name, _, module = item.rpartition('=')
        if not name:
            chosen = {n: chosen[n] or module for n in names}
        elif name not in chosen:
            raise KeyError(f'--target-layers {item}: {name!r} is not one of '
                           f'the networks {list(names)}')
        else:
            chosen[name] = module
    return chosen


def load_images(cfg, model, paths):
    """Normalised ``(N, C, H, W)`` batch and ``(N, H, W, 3)`` float RGB
    images in [0, 1] for display."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    pipeline = Compose([
        TRANSFORMS.build(t)
        for t in dataset.get('pipeline') or cfg.test_pipeline
    ])
    packed = [pipeline(dict(img_path=path)) for path in paths]
    sizes = {tuple(p['inputs'].shape) for p in packed}
    if len(sizes) > 1:
        raise ValueError(f'the test pipeline gives images of shapes '
                         f'{sorted(sizes)}: add a Resize to it (or give '
                         'images of one size)')
    data = model.data_preprocessor(
        dict(inputs=[p['inputs'] for p in packed],
             data_samples=[p['data_samples'] for p in packed]), False)
    shown = []
    for p in packed:
        img = p['inputs'].numpy().transpose(1, 2, 0)
        if img.shape[2] == 3:
            img = img[..., ::-1]  # LoadImageFromFile reads BGR
        elif img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        else:
            img = img[..., :3]
        shown.append(np.ascontiguousarray(img, dtype=np.float32) / 255.0)
    return data['inputs'], shown


def grid(rows, titles, panel_size):
    """Tile ``rows`` of RGB uint8 panels under a strip of column titles."""
    height, width = panel_size
    scale = max(0.25, min(1.0, width / 200))
    strip = np.full((int(24 * scale) + 4, width * len(titles), 3), 255,
                    np.uint8)
    for j, title in enumerate(titles):
        cv2.putText(strip, title, (j * width + 2, strip.shape[0] - 4),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    tiles = [
        np.concatenate([
            cv2.resize(panel, (width, height), interpolation=cv2.INTER_LINEAR)
            for panel in row
        ], axis=1) for row in rows
    ]
    return np.concatenate([strip] + tiles, axis=0)


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg, args.checkpoint)
    calibration = model_calibration(model)
    parts = distiller_parts(model)
    inputs, shown = load_images(cfg, model, args.images)
    panel_size = tuple(args.panel_size or shown[0].shape[:2])

    layers = target_layers(list(parts), args.target_layers)
    rows = [[(img * 255).astype(np.uint8)] for img in shown]
    predictions = {}
    for name, part in parts.items():
        teachers = getattr(model, 'teachers', {})
        x = (teachers[name].inputs_for(model.teacher_view(name, inputs))
             if name in teachers else inputs)
        layer = layers[name] or default_target_layer(part, x)
        layers[name] = layer
        with METHODS[args.method](
                model=TensorModeWrapper(part),
                target_layers=[part.get_submodule(layer)]) as cam:
            maps = cam(input_tensor=x, targets=None)
            logits = cam.outputs.detach()
        multi_label = head_kind(part) == 'multi_label'
        probs = logits.sigmoid() if multi_label else logits.softmax(1)
        if calibration is not None and name == 'student':
            # a distiller's student runs here on its own: its calibration
            # (a classifier's is in its logits already)
            probs = calibration(probs, multi_label)
        predictions[name] = probs.max(1)
        for row, img, heat in zip(rows, shown, maps):
            heat = cv2.resize(heat, img.shape[1::-1])
            row.append(show_cam_on_image(img, heat, use_rgb=True))

    titles = ['input'] + list(parts)
    figure = grid(rows, titles, panel_size)
    os.makedirs(args.out_dir, exist_ok=True)
    out = osp.join(args.out_dir, 'grad_cam.png')
    cv2.imwrite(out, figure[..., ::-1])

    names = config_class_names(cfg)
    table = [['image'] + [f'{n} ({layers[n]})' for n in parts]]
    for i, path in enumerate(args.images):
        cells = []
        for name in parts:
            score, label = (predictions[name].values[i].item(),
                            predictions[name].indices[i].item())
            label_name = (names[label] if names and label < len(names)
                          else str(label))
            cells.append(f'{label_name} ({score:.2f})')
        table.append([osp.basename(path)] + cells)
    print(AsciiTable(table, title=f'{args.method}: predicted class '
                     '(probability) and target layer').table)
    print(f'saved {osp.abspath(out)}')


if __name__ == '__main__':
    main()
