"""SyntheticCells: procedurally drawn blood-cell-like images (demo data).

Every image is drawn from a small physical model of a stained white blood
cell: an elliptic cell body with pale cytoplasm, a nucleus whose shape
(round, kidney, bi-lobed, multi-lobed), size, position and stain differ by
class, cytoplasmic granules (fine, eosinophilic or basophilic), red blood
cells around it and a noisy slide background. The class parameters overlap
and every image carries nuisance variation (scale, rotation, position,
stain colour, brightness, contrast, blur, noise), so that small networks do
clearly better than tiny ones and none is perfect.

One cell can be rendered under several modalities (the same geometry seen
through a fluorescent nuclear stain and under red, green and blue light),
each showing a different subset of the class cues. The data are generated
once into ``root`` and reused afterwards; generation is deterministic given
the seed.
"""
import csv
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS

#: Bumped whenever the drawing changes, so stale trees are not reused.
GENERATOR_VERSION = 1

SPLITS = ('train', 'val', 'test')

#: Binary cell properties written as label columns when ``multi_label``.
SYNTHETIC_CELL_ATTRIBUTES = ('lobed_nucleus', 'granular', 'large_cell',
                             'dark_stain', 'eccentric_nucleus')

#: Modality names used when ``num_modalities == 4``.
FOUR_MODALITIES = ('fluorescent', 'bf_red', 'bf_green', 'bf_blue')

_NUCLEUS_SHAPES = ('round', 'kidney', 'bilobed', 'multilobed')

# Optical densities (R, G, B) of the stained components in bright field.
_NUCLEUS_OD = np.array([0.55, 0.85, 0.35], dtype=np.float32)
_CYTOPLASM_OD = {
    'pink': (0.03, 0.13, 0.08),
    'blue': (0.22, 0.12, 0.04),
    'greyblue': (0.16, 0.14, 0.08),
    'lilac': (0.11, 0.16, 0.06),
}
_GRANULE_OD = {
    'fine': (0.16, 0.26, 0.12),
    'eosinophilic': (0.05, 0.55, 0.80),
    'basophilic': (0.80, 0.90, 0.45),
}
# Granule radius in pixels of a 64 px image, and autofluorescence.
_GRANULE_RADIUS = {'fine': 0.6, 'eosinophilic': 1.1, 'basophilic': 1.4}
_GRANULE_FLUORESCENCE = {
    'fine': 0.04,
    'eosinophilic': 0.30,
    'basophilic': 0.08
}
_RBC_OD = np.array([0.03, 0.30, 0.22], dtype=np.float32)

# Class prototypes. ``shapes`` are the probabilities of _NUCLEUS_SHAPES,
# ``size`` the mean cell-radius factor, ``nucleus`` the mean
# nucleus-to-cell radius ratio, ``granules`` the mean granule density
# (0..1), ``dark`` the mean stain darkness, ``ecc`` the mean nucleus offset
# (fraction of the cell radius) and ``chromatin`` the nucleus texture.
_PROTOTYPES = {
    'neutrophil':
    dict(
        shapes=(0.05, 0.15, 0.25, 0.55),
        size=1.0,
        nucleus=0.50,
        granules=0.45,
        granule_type='fine',
        cytoplasm='pink',
        dark=0.95,
        ecc=0.15,
        chromatin=0.4),
    'lymphocyte':
    dict(
        shapes=(0.65, 0.25, 0.07, 0.03),
        size=0.84,
        nucleus=0.74,
        granules=0.12,
        granule_type='fine',
        cytoplasm='blue',
        dark=1.12,
        ecc=0.2,
        chromatin=0.5),
    'eosinophil':
    dict(
        shapes=(0.05, 0.15, 0.60, 0.20),
        size=1.05,
        nucleus=0.48,
        granules=0.62,
        granule_type='eosinophilic',
        cytoplasm='pink',
        dark=0.95,
        ecc=0.15,
        chromatin=0.4),
    'monocyte':
    dict(
        shapes=(0.20, 0.55, 0.15, 0.10),
        size=1.18,
        nucleus=0.58,
        granules=0.25,
        granule_type='fine',
        cytoplasm='greyblue',
        dark=0.85,
        ecc=0.25,
        chromatin=0.25),
    'basophil':
    dict(
        shapes=(0.25, 0.25, 0.35, 0.15),
        size=0.95,
        nucleus=0.50,
        granules=0.55,
        granule_type='basophilic',
        cytoplasm='lilac',
        dark=1.05,
        ecc=0.15,
        chromatin=0.4),
    'band_neutrophil':
    dict(
        shapes=(0.05, 0.65, 0.20, 0.10),
        size=1.0,
        nucleus=0.50,
        granules=0.45,
        granule_type='fine',
        cytoplasm='pink',
        dark=0.95,
        ecc=0.15,
        chromatin=0.4),
    'plasma_cell':
    dict(
        shapes=(0.75, 0.20, 0.05, 0.0),
        size=0.95,
        nucleus=0.55,
        granules=0.08,
        granule_type='fine',
        cytoplasm='blue',
        dark=1.15,
        ecc=0.42,
        chromatin=0.7),
    'blast':
    dict(
        shapes=(0.70, 0.25, 0.05, 0.0),
        size=1.15,
        nucleus=0.80,
        granules=0.10,
        granule_type='fine',
        cytoplasm='blue',
        dark=0.85,
        ecc=0.15,
        chromatin=0.15),
}


def synthetic_cell_classes(num_classes: int) -> Tuple[str, ...]:
    """Class names of SyntheticCells with ``num_classes`` classes.

    The first names are white-blood-cell types (neutrophil, lymphocyte,
    eosinophil, monocyte, basophil, band_neutrophil, plasma_cell, blast);
    further classes are called ``cell_type_{i}``.

    Args:
        num_classes (int): Number of classes, at least 2.

    Returns:
        tuple[str]: ``num_classes`` class names.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f'num_classes must be an int >= 2, but got {num_classes!r}.')
    named = tuple(_PROTOTYPES)
    extra = tuple(f'cell_type_{i}' for i in range(len(named), num_classes))
    return (named + extra)[:num_classes]


def synthetic_cell_modalities(num_modalities: int) -> Tuple[str, ...]:
    """Modality names of SyntheticCells with ``num_modalities`` modalities.

    One modality is the colour bright-field image (``'brightfield'``); four
    are ``('fluorescent', 'bf_red', 'bf_green', 'bf_blue')``; any other
    number is named ``'mod{i}'`` and rendered, in turn, as fluorescent,
    red, green and blue light and colour bright field.

    Args:
        num_modalities (int): Number of modalities, at least 1.

    Returns:
        tuple[str]: ``num_modalities`` modality names.
    """
    if not isinstance(num_modalities, int) or num_modalities < 1:
        raise ValueError('num_modalities must be an int >= 1, but got '
                         f'{num_modalities!r}.')
    if num_modalities == 1:
        return ('brightfield', )
    if num_modalities == 4:
        return FOUR_MODALITIES
    return tuple(f'mod{i}' for i in range(num_modalities))


def _modality_renderings(num_modalities: int) -> Tuple[str, ...]:
    """How each modality is drawn (a rendering name per modality)."""
    if num_modalities == 1:
        return ('brightfield', )
    cycle = FOUR_MODALITIES + ('brightfield', )
    return tuple(cycle[i % len(cycle)] for i in range(num_modalities))


def _prototype(class_idx: int, name: str) -> dict:
    """The drawing parameters of a class; unnamed classes get random ones.

    Random prototypes depend on the class index only, so ``cell_type_9``
    looks the same whatever the seed and the number of classes.
    """
    if name in _PROTOTYPES:
        return _PROTOTYPES[name]
    rng = np.random.default_rng([1000, class_idx])
    return dict(
        shapes=tuple(rng.dirichlet(np.full(len(_NUCLEUS_SHAPES), 0.8))),
        size=float(rng.uniform(0.8, 1.2)),
        nucleus=float(rng.uniform(0.45, 0.78)),
        granules=float(rng.uniform(0.05, 0.7)),
        granule_type=str(rng.choice(list(_GRANULE_OD))),
        cytoplasm=str(rng.choice(list(_CYTOPLASM_OD))),
        dark=float(rng.uniform(0.85, 1.15)),
        ecc=float(rng.uniform(0.1, 0.4)),
        chromatin=float(rng.uniform(0.15, 0.7)))


def _sample_cell(rng: np.random.Generator, proto: dict) -> dict:
    """Draw one cell's parameters from its class prototype.

    The binary attributes are read off the drawn parameters, so they are
    correlated with the class but not determined by it, and always agree
    with the picture.
    """
    shape_p = np.asarray(proto['shapes']) / np.sum(proto['shapes'])
    shape_p = 0.85 * shape_p + 0.15 / len(_NUCLEUS_SHAPES)
    shape = _NUCLEUS_SHAPES[rng.choice(len(_NUCLEUS_SHAPES), p=shape_p)]
    granule_type = proto['granule_type']
    if rng.random() < 0.15:
        granule_type = str(rng.choice(list(_GRANULE_OD)))
    size = proto['size'] * float(np.exp(rng.normal(0, 0.12)))
    granules = float(np.clip(proto['granules'] + rng.normal(0, 0.2), 0, 1))
    dark = proto['dark'] * float(np.exp(rng.normal(0, 0.15)))
    ecc = float(np.clip(proto['ecc'] + rng.normal(0, 0.12), 0, 0.6))
    params = dict(
        shape=shape,
        size=size,
        nucleus=float(
            np.clip(proto['nucleus'] + rng.normal(0, 0.09), 0.3, 0.9)),
        granules=granules,
        granule_type=granule_type,
        granule_od=np.asarray(_GRANULE_OD[granule_type], np.float32) *
        np.exp(rng.normal(0, 0.3, 3)).astype(np.float32),
        cytoplasm_od=np.asarray(_CYTOPLASM_OD[proto['cytoplasm']], np.float32)
        * np.exp(rng.normal(0, 0.35, 3)).astype(np.float32),
        dark=dark,
        ecc=ecc,
        chromatin=proto['chromatin'] * float(rng.uniform(0.6, 1.4)),
        aspect=1 + abs(float(rng.normal(0, 0.1))),
    )
    params['attributes'] = (
        int(shape in ('bilobed', 'multilobed')),
        int(granules > 0.45),
        int(size > 1.05),
        int(dark > 1.0),
        int(ecc > 0.3),
    )
    return params


class _Canvas:
    """Float drawing helper at a supersampled resolution.

    Args:
        size (int): Side of the supersampled canvas in pixels.
        unit (float): Pixels of the canvas per pixel of a 64 px image.
    """

    _SHIFT = 4

    def __init__(self, size: int, unit: float):
        self.size = size
        self.unit = unit

    def _fix(self, value: float) -> int:
        return int(round(value * (1 << self._SHIFT)))

    def new(self) -> np.ndarray:
        """A blank mask."""
        return np.zeros((self.size, self.size), np.float32)

    def ellipse(self, mask, center, axes, angle, value=1.0):
        """Fill an ellipse; ``axes`` are semi-axes, ``angle`` in degrees."""
        cv2.ellipse(mask, (self._fix(center[0]), self._fix(center[1])),
                    (max(self._fix(axes[0]), 1), max(self._fix(axes[1]), 1)),
                    float(angle), 0, 360, float(value), -1, cv2.LINE_AA,
                    self._SHIFT)

    def circle(self, mask, center, radius, value=1.0):
        """Fill a disc."""
        cv2.circle(mask, (self._fix(center[0]), self._fix(center[1])),
                   max(self._fix(radius), 1), float(value), -1, cv2.LINE_AA,
                   self._SHIFT)

    def line(self, mask, p0, p1, thickness, value=1.0):
        """Draw a thick segment."""
        cv2.line(mask, (self._fix(p0[0]), self._fix(p0[1])),
                 (self._fix(p1[0]), self._fix(p1[1])), float(value),
                 max(int(round(thickness)), 1), cv2.LINE_AA, self._SHIFT)

    def smooth_noise(self, rng: np.random.Generator, cells: int):
        """Low-frequency noise in [0, 1] with ``cells`` knots per side."""
        knots = rng.random((cells, cells)).astype(np.float32)
        return cv2.resize(
            knots, (self.size, self.size), interpolation=cv2.INTER_CUBIC)


def _draw_nucleus(canvas: _Canvas, rng: np.random.Generator, shape: str,
                  center: np.ndarray, radius: float, angle: float):
    """Draw a nucleus mask of the given shape around ``center``."""
    mask = canvas.new()
    rot = np.array([[np.cos(angle), -np.sin(angle)],
                    [np.sin(angle), np.cos(angle)]])

    def at(x, y):
        return center + rot @ np.array([x, y]) * radius

    deg = np.degrees(angle)
    if shape == 'round':
        canvas.ellipse(mask, center, (radius, radius * rng.uniform(0.8, 1.0)),
                       deg)
    elif shape == 'kidney':
        canvas.ellipse(mask, center, (radius * 1.05, radius * 0.85), deg)
        canvas.circle(mask, at(0, rng.uniform(0.85, 1.05)),
                      radius * rng.uniform(0.45, 0.6), 0.0)
    elif shape == 'bilobed':
        half = rng.uniform(0.5, 0.65)
        lobe = radius * rng.uniform(0.5, 0.6)
        left, right = at(-half, 0), at(half, 0)
        canvas.circle(mask, left, lobe)
        canvas.circle(mask, right, lobe * rng.uniform(0.85, 1.1))
        canvas.line(mask, left, right, radius * 0.2)
    else:
        num_lobes = int(rng.integers(3, 6))
        spread = np.radians(rng.uniform(55, 85))
        lobes = [
            at(0.7 * np.sin(a), 0.7 * np.cos(a) - 0.35)
            for a in np.linspace(-spread, spread, num_lobes)
        ]
        for i, lobe in enumerate(lobes):
            canvas.circle(mask, lobe, radius * 0.38 * rng.uniform(0.85, 1.15))
            if i:
                canvas.line(mask, lobes[i - 1], lobe, radius * 0.12)
    return mask


def _draw_layers(rng: np.random.Generator, params: dict,
                 canvas: _Canvas) -> Dict[str, np.ndarray]:
    """Draw the component masks (densities in [0, 1]) of one cell."""
    size, unit = canvas.size, canvas.unit
    center = size / 2 + rng.normal(0, 0.06 * size, 2)
    # Nuisance scale jitter, on top of the class's own size distribution.
    radius = 17 * unit * params['size'] * float(np.exp(rng.normal(0, 0.08)))
    cell_angle = rng.uniform(0, 180)
    cell = canvas.new()
    canvas.ellipse(cell, center, (radius * params['aspect'], radius),
                   cell_angle)
    cell = cv2.GaussianBlur(cell, (0, 0), 0.8 * unit)

    nucleus_radius = radius * params['nucleus']
    direction = rng.uniform(0, 2 * np.pi)
    offset = min(params['ecc'] * radius, 0.95 * (radius - nucleus_radius))
    nucleus_center = center + offset * np.array(
        [np.cos(direction), np.sin(direction)])
    nucleus = _draw_nucleus(canvas, rng, params['shape'], nucleus_center,
                            nucleus_radius, rng.uniform(0, 2 * np.pi))
    chromatin = canvas.smooth_noise(rng, 12)
    nucleus = cv2.GaussianBlur(nucleus, (0, 0), 0.6 * unit) * cell
    nucleus *= 1 + params['chromatin'] * (chromatin - 0.5)

    granules = canvas.new()
    num_granules = int(
        round(params['granules'] * 70 * (radius / (17 * unit))**2))
    granule_radius = _GRANULE_RADIUS[params['granule_type']] * unit
    for _ in range(num_granules):
        rho = 0.92 * np.sqrt(rng.random())
        phi = rng.uniform(0, 2 * np.pi)
        local = np.array(
            [rho * np.cos(phi) * params['aspect'], rho * np.sin(phi)]) * radius
        theta = np.radians(cell_angle)
        pos = center + np.array([[np.cos(theta), -np.sin(theta)],
                                 [np.sin(theta), np.cos(theta)]]) @ local
        canvas.circle(granules, pos, granule_radius * rng.uniform(0.7, 1.3),
                      rng.uniform(0.6, 1.0))

    rbc = canvas.new()
    for _ in range(min(int(rng.poisson(1.2)), 3)):
        rbc_radius = 15 * unit * rng.uniform(0.85, 1.1)
        phi = rng.uniform(0, 2 * np.pi)
        dist = radius + rbc_radius * rng.uniform(0.4, 1.1)
        pos = center + dist * np.array([np.cos(phi), np.sin(phi)])
        canvas.circle(rbc, pos, rbc_radius)
        canvas.circle(rbc, pos, rbc_radius * 0.45, 0.55)
    rbc = cv2.GaussianBlur(rbc, (0, 0), 1.2 * unit)

    return dict(
        cell=cell,
        nucleus=nucleus,
        granules=granules * cell,
        rbc=rbc * (1 - cell),
        background=canvas.smooth_noise(rng, 6))


def _finish(image: np.ndarray, rng: np.random.Generator, image_size: int,
            blur: float) -> np.ndarray:
    """Downsample, blur, add brightness/contrast jitter and noise."""
    image = cv2.resize(
        image, (image_size, image_size), interpolation=cv2.INTER_AREA)
    sigma = blur * rng.uniform(0.3, 1.0) * image_size / 64
    image = cv2.GaussianBlur(image, (0, 0), max(sigma, 0.1))
    if image.ndim == 2:
        image = image[..., None]
    contrast = float(np.exp(rng.normal(0, 0.12)))
    brightness = float(rng.normal(0, 0.05))
    image = (image - 0.5) * contrast + 0.5 + brightness
    image = image + rng.normal(0, rng.uniform(0.01, 0.04), image.shape)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def _render(layers: Dict[str, np.ndarray], params: dict, rendering: str,
            rng: np.random.Generator, image_size: int) -> np.ndarray:
    """Render one modality of a cell as an RGB uint8 image."""
    if rendering == 'fluorescent':
        glow = (0.9 * params['dark'] * layers['nucleus'] +
                0.12 * layers['cell'] +
                _GRANULE_FLUORESCENCE[params['granule_type']] *
                layers['granules'] + 0.04 * layers['background'] + 0.02)
        glow = glow * float(np.exp(rng.normal(0, 0.15)))
        tint = np.array([0.8, 0.9, 1.0], np.float32)
        return _finish(glow[..., None] * tint, rng, image_size, 1.6)

    stain = np.exp(rng.normal(0, 0.2, 3)).astype(np.float32)
    nucleus_od = _NUCLEUS_OD * params['dark']
    cytoplasm_od = params['cytoplasm_od'] * params['dark']
    granule_od = params['granule_od']
    density = (layers['cell'][..., None] * cytoplasm_od +
               layers['nucleus'][..., None] * nucleus_od +
               layers['granules'][..., None] * granule_od +
               layers['rbc'][..., None] * _RBC_OD +
               layers['background'][..., None] * 0.06) * stain
    light = np.array([0.95, 0.93, 0.95], np.float32)
    rgb = light * np.exp(-density)
    if rendering == 'brightfield':
        return _finish(rgb, rng, image_size, 1.2)
    channel = {'bf_red': 0, 'bf_green': 1, 'bf_blue': 2}[rendering]
    gray = _finish(rgb[..., channel], rng, image_size, 1.2)
    return np.repeat(gray, 3, axis=2)


def _draw_cell(seed: int, split: str, index: int, proto: dict,
               renderings: Sequence[str],
               image_size: int) -> Tuple[dict, List[np.ndarray]]:
    """Draw one cell in every rendering; the result depends only on the
    seed, the split, the index and the class prototype."""
    split_id = SPLITS.index(split)
    rng = np.random.default_rng([seed, split_id, index])
    params = _sample_cell(rng, proto)
    canvas = _Canvas(2 * image_size, 2 * image_size / 64)
    layers = _draw_layers(rng, params, canvas)
    images = []
    for m, rendering in enumerate(renderings):
        noise_rng = np.random.default_rng([seed, split_id, index, 1, m])
        images.append(
            _render(layers, params, rendering, noise_rng, image_size))
    return params, images


def _check_args(num_classes, num_per_class, image_size, num_modalities):
    synthetic_cell_classes(num_classes)
    synthetic_cell_modalities(num_modalities)
    if (len(num_per_class) != len(SPLITS)
            or any(not isinstance(n, int) or n < 0 for n in num_per_class)):
        raise ValueError(
            'num_per_class must be 3 non-negative ints (train, val, test), '
            f'but got {num_per_class!r}.')
    if not isinstance(image_size, int) or image_size < 16:
        raise ValueError(
            f'image_size must be an int >= 16, but got {image_size!r}.')


def _write_tree(root: str, params: dict, classes: Sequence[str],
                attributes: Sequence[str], modalities: Sequence[str]):
    """Draw every split into ``root`` (which must exist and be empty)."""
    renderings = _modality_renderings(params['num_modalities'])
    protos = [_prototype(i, name) for i, name in enumerate(classes)]
    counts = {}
    for split, per_class in zip(SPLITS, params['num_per_class']):
        rows = []
        for label, name in enumerate(classes):
            for k in range(per_class):
                index = label * per_class + k
                cell, images = _draw_cell(params['seed'], split, index,
                                          protos[label], renderings,
                                          params['image_size'])
                paths = []
                for modality, image in zip(modalities, images):
                    folder = name if len(modalities) == 1 else modality
                    rel_path = f'{split}/{folder}/{split}_{index:05d}.png'
                    os.makedirs(osp.join(root, split, folder), exist_ok=True)
                    cv2.imwrite(
                        osp.join(root, rel_path),
                        cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                    paths.append(rel_path)
                attrs = list(cell['attributes']) if attributes else []
                rows.append([f'{split}_{index:05d}', label] + attrs + paths)
        with open(osp.join(root, f'{split}.csv'), 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['id', 'label'] + list(attributes) +
                            list(modalities))
            writer.writerows(rows)
        counts[split] = {name: per_class for name in classes}
    return counts


def generate_synthetic_cells(root: str,
                             num_classes: int = 4,
                             num_per_class: Sequence[int] = (200, 50, 100),
                             image_size: int = 64,
                             multi_label: bool = False,
                             num_modalities: int = 1,
                             seed: int = 0) -> dict:
    """Generate the SyntheticCells images into ``root``, or reuse them.

    The tree is drawn into a temporary sibling folder and renamed into place,
    so concurrent callers (DDP ranks) or an interrupted run never leave a
    half-written ``root``. An existing ``root`` is reused when its
    ``meta.json`` holds the same parameters.

    Layout::

        root/
        ├── meta.json           # parameters, classes, attributes, counts
        ├── train.csv           # id,label[,attributes...],<modality paths>
        ├── val.csv
        ├── test.csv
        └── train/
            ├── neutrophil/train_00000.png   # one modality: class folders
            └── ...
            # several modalities: train/<modality>/train_00000.png

    Args:
        root (str): Folder of the generated data.
        num_classes (int): Number of cell classes, at least 2.
            Defaults to 4.
        num_per_class (Sequence[int]): Images per class in the train, val
            and test splits. Defaults to (200, 50, 100).
        image_size (int): Side of the square images in pixels.
            Defaults to 64.
        multi_label (bool): Whether to write the binary cell attributes
            (:data:`SYNTHETIC_CELL_ATTRIBUTES`) as CSV columns.
            Defaults to False.
        num_modalities (int): Number of renderings of each cell.
            Defaults to 1.
        seed (int): Random seed; the same seed gives identical images.
            Defaults to 0.

    Returns:
        dict: The content of ``meta.json``.
    """
    num_per_class = tuple(num_per_class)
    _check_args(num_classes, num_per_class, image_size, num_modalities)
    params = dict(
        version=GENERATOR_VERSION,
        num_classes=num_classes,
        num_per_class=list(num_per_class),
        image_size=image_size,
        multi_label=bool(multi_label),
        num_modalities=num_modalities,
        seed=seed)
    root = osp.abspath(osp.expanduser(root))
    meta_file = osp.join(root, 'meta.json')
    if osp.isdir(root) and os.listdir(root):
        return _load_meta(root, params)

    classes = synthetic_cell_classes(num_classes)
    attributes = SYNTHETIC_CELL_ATTRIBUTES if multi_label else ()
    modalities = synthetic_cell_modalities(num_modalities)
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    print_log(
        f'Generating SyntheticCells ({num_classes} classes, '
        f'{num_per_class} per class, {image_size}px, '
        f'{num_modalities} modalities) into {root}',
        logger='current')
    tmp_root = tempfile.mkdtemp(
        prefix=f'.{osp.basename(root)}.tmp-', dir=parent)
    try:
        counts = _write_tree(tmp_root, params, classes, attributes, modalities)
        meta = dict(
            params=params,
            classes=list(classes),
            attributes=list(attributes),
            modalities=list(modalities),
            counts=counts)
        with open(osp.join(tmp_root, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=2)
        try:
            os.replace(tmp_root, root)
        except OSError:
            # Another process renamed its identical tree into place first.
            if not osp.isfile(meta_file):
                raise
    finally:
        if osp.isdir(tmp_root):
            shutil.rmtree(tmp_root)
    return _load_meta(root, params)


def synthetic_tree_dir(data_root: str, num_classes: int = 4,
                       num_per_class: Sequence[int] = (200, 50, 100),
                       image_size: int = 64, multi_label: bool = False,
                       num_modalities: int = 1, seed: int = 0) -> str:
    """The folder under ``data_root`` that holds the tree generated with
    these parameters, e.g. ``cells_4c_200-50-100_64px_seed0`` (plus
    ``_attributes`` for multi-label, ``_4m`` for 4 modalities).

    Every parameter set lives in its own folder with its own ``meta.json``
    (the completion marker), so the demos of different methods (one or four
    modalities, classes or attributes, sizes) share one ``data_root``.
    """
    name = (f'cells_{num_classes}c_'
            f'{"-".join(str(n) for n in num_per_class)}_{image_size}px')
    if multi_label:
        name += '_attributes'
    if num_modalities != 1:
        name += f'_{num_modalities}m'
    return osp.join(data_root, f'{name}_seed{seed}')


def _load_meta(root: str, params: dict) -> dict:
    """Read ``root/meta.json`` and check it was made with ``params``."""
    meta_file = osp.join(root, 'meta.json')
    if not osp.isfile(meta_file):
        raise FileNotFoundError(
            f'{root} exists and is not empty but has no meta.json, so it is '
            'not a SyntheticCells folder. Remove it or choose another '
            'data_root.')
    with open(meta_file) as f:
        meta = json.load(f)
    found = meta.get('params', {})
    differing = [
        f'{key}: requested {value!r}, found {found.get(key)!r}'
        for key, value in params.items() if found.get(key) != value
    ]
    if differing:
        raise ValueError(
            f'The SyntheticCells folder {root} was generated with other '
            f'parameters ({"; ".join(differing)}). Remove the folder or '
            'choose another data_root.')
    return meta


@DATASETS.register_module()
class SyntheticCells(BaseDataset):
    """Synthetic blood-cell-like images, generated on first use.

    Each entry is ``{'img_path', 'gt_label'}``: ``gt_label`` is the class
    index, or with ``multi_label=True`` the list of positive attribute
    indices (then ``metainfo['classes']`` are the attribute names). See
    :func:`generate_synthetic_cells` for the generator and the layout.

    Args:
        data_root (str): Parent folder of the generated data: the tree of
            these parameters is in :func:`synthetic_tree_dir` below it.
            Defaults to 'data/synthetic_cells'.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        num_classes (int): Number of cell classes. Defaults to 4.
        num_per_class (Sequence[int]): Images per class in the train, val
            and test splits. Defaults to (200, 50, 100).
        image_size (int): Side of the images in pixels. Defaults to 64.
        multi_label (bool): Whether the labels are the binary cell
            attributes instead of the class. Defaults to False.
        num_modalities (int): Number of renderings of each cell.
            Defaults to 1.
        modality (int | str): The modality (index or name) this dataset
            returns. Defaults to 0.
        seed (int): Generator seed. Defaults to 0.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        **kwargs: Other keyword arguments in :class:`BaseDataset`.
    """

    def __init__(self,
                 data_root: str = 'data/synthetic_cells',
                 split: str = 'train',
                 num_classes: int = 4,
                 num_per_class: Sequence[int] = (200, 50, 100),
                 image_size: int = 64,
                 multi_label: bool = False,
                 num_modalities: int = 1,
                 modality: Union[int, str] = 0,
                 seed: int = 0,
                 pipeline: Sequence = (),
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(
                f'split must be one of {SPLITS}, but got {split!r}.')
        num_per_class = tuple(num_per_class)
        _check_args(num_classes, num_per_class, image_size, num_modalities)
        modalities = synthetic_cell_modalities(num_modalities)
        if isinstance(modality, int) and 0 <= modality < num_modalities:
            modality = modalities[modality]
        elif modality not in modalities:
            raise ValueError(
                f'modality must be an index below {num_modalities} or one '
                f'of {modalities}, but got {modality!r}.')
        self.split = split
        self.modality = modality
        self.multi_label = multi_label
        self.generator_cfg = dict(
            num_classes=num_classes,
            num_per_class=num_per_class,
            image_size=image_size,
            multi_label=multi_label,
            num_modalities=num_modalities,
            seed=seed)
        classes = (
            SYNTHETIC_CELL_ATTRIBUTES
            if multi_label else synthetic_cell_classes(num_classes))
        metainfo = {
            'classes': classes,
            'modality': modality,
            **(metainfo or {})
        }
        # a few hundred rows: mmengine's serialisation (for sharing big
        # annotation lists with loader workers) would only add its
        # gc.collect(), 0.4 s per dataset in a long-running process
        kwargs.setdefault('serialize_data', False)
        super().__init__(
            ann_file=f'{split}.csv',
            metainfo=metainfo,
            data_root=synthetic_tree_dir(data_root, **self.generator_cfg),
            pipeline=pipeline,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Generate the data if needed and read the split's CSV."""
        meta = generate_synthetic_cells(self.data_root, **self.generator_cfg)
        attributes = meta['attributes']
        data_list = []
        with open(self.ann_file, newline='') as f:
            for row in csv.DictReader(f):
                if self.multi_label:
                    gt_label = [
                        i for i, name in enumerate(attributes)
                        if row[name] == '1'
                    ]
                else:
                    gt_label = int(row['label'])
                data_list.append(
                    dict(
                        img_path=osp.abspath(
                            osp.join(self.img_prefix, row[self.modality])),
                        gt_label=gt_label))
        return data_list

    def get_cat_ids(self, idx: int) -> List[int]:
        """The class index, or the positive attribute indices.

        Args:
            idx (int): Index of data.

        Returns:
            list[int]: Labels of the sample.
        """
        gt_label = self.get_data_info(idx)['gt_label']
        return list(gt_label) if self.multi_label else [int(gt_label)]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Modality: \t{self.modality}',
        ]
