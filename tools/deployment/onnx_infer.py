"""Class probabilities of images from an exported ONNX model.

    python tools/deployment/onnx_infer.py MODEL.onnx IMAGE [IMAGE ...] \
        [--json probs.json]

Needs only numpy, OpenCV and onnxruntime (no torch, no medkd model code):
everything else comes from ``MODEL.json``, the file
``tools/deployment/pytorch2onnx.py`` writes beside the graph (input size,
channel order, mean / std, the test pipeline's resizing, class names, head
kind). Each image is read as ``LoadImageFromFile`` reads it (OpenCV,
BGR), resized and cropped as the config's test pipeline does (``Resize``,
``CenterCrop``), normalised unless the graph does it itself
(``--bake-preprocessing``), and the graph's logits turned into
probabilities (softmax, or sigmoid for a multi-label head). Prints one row
per image.
"""
import argparse
import json
import os.path as osp

import cv2
import numpy as np

INTERPOLATION = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
                     bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA,
                     lanczos=cv2.INTER_LANCZOS4)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='.onnx written by pytorch2onnx.py')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--json', help='also write the probabilities here')
    return parser.parse_args()


def read_sidecar(model: str) -> dict:
    path = osp.splitext(model)[0] + '.json'
    if not osp.isfile(path):
        raise SystemExit(f'{path} not found: export the model with '
                         'tools/deployment/pytorch2onnx.py, which writes it '
                         'beside the .onnx file.')
    with open(path) as f:
        return json.load(f)


def load_image(path: str, color_type: str) -> np.ndarray:
    """The image as ``LoadImageFromFile`` gives it: ``(H, W, C)`` uint8,
    BGR for colour images."""
    flags = dict(color=cv2.IMREAD_COLOR, grayscale=cv2.IMREAD_GRAYSCALE,
                 unchanged=cv2.IMREAD_UNCHANGED)
    if color_type not in flags:
        raise SystemExit(f'color_type {color_type!r} of the test pipeline is '
                         f'not supported here; supported: {sorted(flags)}')
    image = cv2.imdecode(np.fromfile(path, np.uint8), flags[color_type])
    if image is None:
        raise SystemExit(f'{path}: not an image OpenCV can read')
    return image[..., None] if image.ndim == 2 else image


def apply_pipeline(image: np.ndarray, pipeline: list) -> np.ndarray:
    """mmcv's ``Resize`` (fixed ``scale`` (w, h)) and ``CenterCrop``, as the
    config's test pipeline applies them."""
    for step in pipeline:
        channels = image.shape[2]
        if step['type'] == 'Resize':
            scale = step['scale']
            width, height = (scale, scale) if isinstance(scale,
                                                         int) else scale
            image = cv2.resize(
                image, (width, height),
                interpolation=INTERPOLATION[step.get('interpolation',
                                                     'bilinear')])
        elif step['type'] == 'CenterCrop':
            size = step['crop_size']
            crop_w, crop_h = (size, size) if isinstance(size, int) else size
            height, width = image.shape[:2]
            top = max(0, int(round((height - crop_h) / 2.)))
            left = max(0, int(round((width - crop_w) / 2.)))
            image = image[top:top + crop_h, left:left + crop_w]
        else:
            raise SystemExit(f'test pipeline step {step} is not supported '
                             'here (Resize and CenterCrop are)')
        if image.ndim == 2:
            image = image.reshape(*image.shape, channels)
    return image


def probabilities(logits: np.ndarray, head_kind: str) -> np.ndarray:
    logits = logits.astype(np.float64)
    if head_kind == 'multi_label':
        return 1.0 / (1.0 + np.exp(-logits))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def main():
    args = parse_args()
    import onnxruntime
    info = read_sidecar(args.model)
    images = []
    for path in args.images:
        image = apply_pipeline(load_image(path, info['color_type']),
                               info['test_pipeline'])
        if list(image.shape[:2]) != list(info['input_size']):
            raise SystemExit(
                f'{path}: {image.shape[0]}x{image.shape[1]} after the test '
                f'pipeline, but the model was exported for '
                f'{info["input_size"][0]}x{info["input_size"][1]}')
        images.append(image)
    batch = np.stack(images)
    if not info['preprocessing_in_graph']:
        batch = batch.transpose(0, 3, 1, 2).astype(np.float32)
        if info['to_rgb'] and batch.shape[1] == 3:
            batch = batch[:, ::-1]
        if info['mean'] is not None:
            mean = np.array(info['mean'], np.float32).reshape(1, -1, 1, 1)
            std = np.array(info['std'], np.float32).reshape(1, -1, 1, 1)
            batch = (batch - mean) / std
        batch = np.ascontiguousarray(batch, dtype=np.float32)
    session = onnxruntime.InferenceSession(
        args.model, providers=['CPUExecutionProvider'])
    (logits, ) = session.run([info['output_name']],
                             {info['input_name']: batch})
    probs = probabilities(logits, info['head_kind'])
    names = info['class_names'] or [str(i) for i in range(probs.shape[1])]
    width = max(len(osp.basename(p)) for p in args.images)
    print(' ' * width + ' | ' + ' | '.join(names))
    for path, row in zip(args.images, probs):
        print(f'{osp.basename(path):<{width}} | ' +
              ' | '.join(f'{p:.4f}'.rjust(len(n)) for p, n in zip(row, names)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({p: row.tolist() for p, row in zip(args.images, probs)},
                      f, indent=2)


if __name__ == '__main__':
    main()
