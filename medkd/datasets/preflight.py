"""Pre-flight check of every image a run will read, before the first
iteration.

Without it a file that does not decode is found when a DataLoader worker
reaches it: training dies mid-epoch with the worker's ``AssertionError:
failed to load image``. :class:`~medkd.engine.MedKDRunner` runs
:func:`check_dataset_images` on the train, val and test datasets while it
builds their loaders (config key ``image_check``), so a run with a bad image
stops before training and names every bad file, or, with
``on_bad_image='skip'``, leaves those samples out with one warning naming
each.

Each image is decoded the way the dataset's pipeline loads it (the
``color_type`` and decoding backend of its ``LoadImageFromFile`` or
``LoadMultiModalImages``), and a sample's channels are compared with what
the model's data preprocessor normalises (the length of its ``mean``);
``img_size`` optionally fixes the height and width. The result is cached
per file list (path, size and mtime of every file, plus the expectations),
so a second run over unchanged files skips the decoding.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
from mmengine.dataset import BaseDataset
from mmengine.fileio import get
from mmengine.logging import MMLogger
from mmengine.utils import track_parallel_progress, track_progress

from medkd.utils.fileio import atomic_write

#: The keys of the ``image_check`` config and their defaults.
IMAGE_CHECK_DEFAULTS = dict(
    enabled=True,
    on_bad_image='error',
    max_listed=10,
    img_size=None,
    cache=True,
)
ON_BAD_IMAGE = ('error', 'skip')


class BadImageError(OSError):
    """Some images of a dataset cannot be used; raised before training."""


def image_check_options(options: Optional[dict],
                        source: str = 'the config') -> dict:
    """``IMAGE_CHECK_DEFAULTS`` updated by ``options`` (``image_check`` of a
    config); unknown keys and values are refused naming the key."""
    if options is None:
        options = {}
    if isinstance(options, bool):
        options = dict(enabled=options)
    if not isinstance(options, dict):
        raise TypeError(f'`image_check` in {source} must be a dict (or a '
                        f'bool), got {type(options).__name__}.')
    unknown = sorted(set(options) - set(IMAGE_CHECK_DEFAULTS))
    if unknown:
        raise KeyError(f'`image_check` in {source} has unknown key(s) '
                       f'{unknown}; expected some of '
                       f'{sorted(IMAGE_CHECK_DEFAULTS)}.')
    merged = {**IMAGE_CHECK_DEFAULTS, **options}
    if merged['on_bad_image'] not in ON_BAD_IMAGE:
        raise ValueError(f'`image_check.on_bad_image` in {source} must be '
                         f"one of {ON_BAD_IMAGE}, got "
                         f"{merged['on_bad_image']!r}.")
    size = merged['img_size']
    if size is not None:
        if isinstance(size, int):
            size = (size, size)
        if len(size) != 2 or not all(isinstance(s, int) and s > 0
                                     for s in size):
            raise ValueError(f'`image_check.img_size` in {source} must be '
                             f'an int or (height, width), got {size!r}.')
        merged['img_size'] = tuple(size)
    if not isinstance(merged['max_listed'], int) or merged['max_listed'] < 1:
        raise ValueError(f'`image_check.max_listed` in {source} must be a '
                         f"positive int, got {merged['max_listed']!r}.")
    return merged


def base_dataset(dataset) -> Optional[BaseDataset]:
    """The dataset holding the data list, under wrappers that keep it in
    ``.dataset`` (MIMODataset, AugmentationReplayDataset); None if there
    is no such dataset."""
    while not isinstance(dataset, BaseDataset) or type(
            dataset).__name__ == 'MIMODataset':
        inner = getattr(dataset, 'dataset', None)
        if inner is None:
            return dataset if isinstance(dataset, BaseDataset) else None
        dataset = inner
    return dataset


def _load_settings(dataset: BaseDataset) -> Tuple[object, str]:
    """``(color_type, imdecode_backend)`` of the pipeline's load step;
    ``color_type`` may be a list or dict (per modality)."""
    for transform in getattr(dataset.pipeline, 'transforms', []):
        if type(transform).__name__ in ('LoadImageFromFile',
                                        'LoadMultiModalImages'):
            return (getattr(transform, 'color_type', 'color'),
                    getattr(transform, 'imdecode_backend', 'cv2'))
    return 'color', 'cv2'


def _sample_images(info: dict, color_type) -> List[Tuple[str, str]]:
    """``[(path, color_type)]`` of one data-list entry."""
    if 'img_paths' in info:
        paths = list(info['img_paths'])
        if isinstance(color_type, str):
            types = [color_type] * len(paths)
        elif isinstance(color_type, dict):
            types = [color_type.get(m, 'color') for m in info['modalities']]
        else:
            types = list(color_type)
        return list(zip(paths, types))
    if 'img_path' in info:
        return [(info['img_path'], color_type)]
    return []


def _array_shape(img) -> Optional[tuple]:
    """``(h, w, c)`` of an image held in the data list (MedMNIST)."""
    shape = getattr(img, 'shape', None)
    if shape is None or len(shape) not in (2, 3):
        return None
    return (shape[0], shape[1], 1 if len(shape) == 2 else shape[2])


def decode_image(task: Tuple[str, str, str]) -> Tuple[str, Optional[tuple],
                                                      Optional[str]]:
    """``(path, (h, w, c) or None, reason or None)`` for ``(path,
    color_type, backend)``: the image decoded as the pipeline would."""
    path, color_type, backend = task
    try:
        img = mmcv.imfrombytes(get(path), flag=color_type, backend=backend)
    except FileNotFoundError:
        return path, None, 'file not found'
    except Exception as error:  # any decoder failure: unreadable
        return path, None, f'cannot be decoded ({error.__class__.__name__})'
    if img is None:
        return path, None, 'not a decodable image'
    channels = 1 if img.ndim == 2 else img.shape[2]
    return path, (img.shape[0], img.shape[1], channels), None


def _file_signature(paths: Sequence[str]) -> hashlib.sha256:
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f'{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n'
                          .encode())
        except OSError:
            digest.update(f'{path}\0missing\n'.encode())
    return digest


def cache_folder() -> str:
    """Where check results are kept: ``$MEDKD_CACHE_DIR/image_check``
    (default ``~/.cache/medkd/image_check``)."""
    root = os.environ.get('MEDKD_CACHE_DIR') or osp.join(
        osp.expanduser('~'), '.cache', 'medkd')
    return osp.join(root, 'image_check')


def _decode_all(tasks: List[tuple], nproc: int) -> Dict[tuple, tuple]:
    """``{(path, color_type): (shape, reason)}`` of ``tasks``."""
    if not tasks:
        return {}
    if nproc > 1 and len(tasks) > nproc:
        results = track_parallel_progress(
            decode_image, tasks, nproc, chunksize=max(1, min(
                64, len(tasks) // (4 * nproc))))
    else:
        results = track_progress(decode_image, tasks)
    return {(task[0], task[1]): (shape, reason)
            for task, (_, shape, reason) in zip(tasks, results)}


def find_bad_samples(dataset,
                     expected_channels: Optional[int] = None,
                     img_size: Optional[Tuple[int, int]] = None,
                     nproc: int = 1,
                     cache: bool = True) -> List[Tuple[int, str, str]]:
    """``[(index, reason, kind)]`` of the samples of ``dataset`` that cannot
    be used: ``reason`` names the file and what was expected, ``kind`` is
    ``'file'`` (missing or not decodable), ``'size'`` or ``'channels:<n>'``
    (``n`` channels loaded).

    Args:
        dataset: A dataset (or a wrapper of one, see :func:`base_dataset`).
        expected_channels (int, optional): Channels a sample must have (the
            sum over its images for multimodal samples).
        img_size (tuple, optional): ``(height, width)`` every image must
            have.
        nproc (int): Decoding processes. Defaults to 1.
        cache (bool): Reuse (and store) the result for an unchanged file
            list. Defaults to True.
    """
    data = base_dataset(dataset)
    if data is None:
        return []
    color_type, backend = _load_settings(data)
    samples, ids, arrays = [], [], {}
    for index in range(len(data)):
        info = data.get_data_info(index)
        images = _sample_images(info, color_type)
        shape = _array_shape(info.get('img'))
        if not images and shape is not None:
            # held in memory (MedMNIST's arrays): its shape, nothing to read
            name = f'{type(data).__name__} row {index} (in memory)'
            images.append((name, 'array'))
            arrays[(name, 'array')] = (shape, None)
        samples.append(images)
        ids.append(info.get('sample_id'))
    paths = sorted({path for images in samples for path, kind in images
                    if kind != 'array'})
    if not paths and not arrays:
        return []
    cache = cache and not arrays  # arrays have no size / mtime to key on
    digest = _file_signature(paths)
    digest.update(json.dumps([repr(color_type), backend, expected_channels,
                              img_size, [[p for p, _ in s]
                                         for s in samples]]).encode())
    cache_file = osp.join(cache_folder(), f'{digest.hexdigest()}.json')
    logger = MMLogger.get_current_instance()
    if cache and osp.isfile(cache_file):
        with open(cache_file) as f:
            bad = [tuple(item) for item in json.load(f)]
        logger.info(f'Image check of {len(paths)} files: result reused from '
                    f'{cache_file} (no file changed).')
        return bad

    tasks = sorted({(path, kind, backend) for images in samples
                    for path, kind in images if kind != 'array'})
    logger.info(f'Checking {len(tasks)} images ({nproc} process(es)); '
                'set image_check=dict(enabled=False) to skip.')
    decoded = {**_decode_all(tasks, nproc), **arrays}

    bad = []
    for index, images in enumerate(samples):
        reasons, kind, channels = [], 'file', 0
        for path, color in images:
            shape, reason = decoded[(path, color)]
            if reason:
                reasons.append(f'{path}: {reason}')
                continue
            channels += shape[2]
            if img_size is not None and tuple(shape[:2]) != tuple(img_size):
                reasons.append(f'{path}: {shape[0]}x{shape[1]} pixels, '
                               f'expected {img_size[0]}x{img_size[1]} '
                               '(image_check.img_size)')
                kind = 'size'
        if not reasons and expected_channels is not None and \
                channels != expected_channels:
            names = ', '.join(p for p, _ in images)
            reasons.append(
                f'{names}: {channels} channel(s) as loaded (color_type '
                f'{color_type!r}), the data preprocessor normalises '
                f'{expected_channels}')
            kind = f'channels:{channels}'
        if reasons:
            row = ids[index]
            prefix = '' if row is None else f'id {row}: '
            bad.append((index, prefix + '; '.join(reasons), kind))
    if cache:
        text = json.dumps(bad).encode()
        atomic_write(cache_file, lambda f: f.write(text))
    return bad


def check_dataset_images(dataset,
                         split: str,
                         options: dict,
                         expected_channels: Optional[int] = None,
                         nproc: int = 1,
                         bad: Optional[List[Tuple[int, str, str]]] = None):
    """Run the check on ``dataset`` and act on ``options['on_bad_image']``:
    raise :class:`BadImageError` listing the bad files, or drop their
    samples (in place) with one warning naming each. Returns ``dataset``.

    ``bad`` is a result computed elsewhere (another rank's).
    """
    if bad is None:
        bad = find_bad_samples(dataset, expected_channels,
                               options['img_size'], nproc, options['cache'])
    if not bad:
        return dataset
    data = base_dataset(dataset)
    total = len(data)
    kinds = {kind for _, _, kind in bad}
    if len(bad) == total and len(kinds) == 1 and \
            kinds.pop().startswith('channels:'):
        # every sample: the dataset and the model disagree, not the files
        found = bad[0][2].split(':')[1]
        modalities = data.metainfo.get('modalities')
        what = (f'its {len(modalities)} modalities {list(modalities)}'
                if modalities else 'its images')
        raise BadImageError(
            f'{split} set ({type(data).__name__}): {what} load as {found} '
            f'channels per sample, but the model\'s data preprocessor '
            f'normalises {expected_channels} (the length of '
            '`data_preprocessor.mean`); the dataset\'s modalities or '
            'color_type and the model disagree. First sample: '
            f'{bad[0][1]}')
    limit = options['max_listed']
    listed = '\n  '.join(
        f'sample {index}: {reason}' for index, reason, _ in bad[:limit])
    more = (f'\n  ... and {len(bad) - limit} more'
            if len(bad) > limit else '')
    if options['on_bad_image'] == 'error':
        raise BadImageError(
            f'{split} set: {len(bad)} of {total} samples have images that '
            f'cannot be used:\n  {listed}{more}\nFix or remove them, or set '
            "image_check=dict(on_bad_image='skip') to train without them.")
    if len(bad) == total:
        raise BadImageError(f'{split} set: all {total} samples have '
                            f'unusable images:\n  {listed}{more}')
    if split == 'test':
        # test metrics of a silently smaller test set are not the test set's
        raise BadImageError(
            f'test set: {len(bad)} of {total} samples have images that '
            f'cannot be used:\n  {listed}{more}\n'
            "image_check.on_bad_image='skip' applies to the train and val "
            'sets only: metrics on a subset of the test set would be '
            'reported as the test set\'s. Fix or remove these files (or '
            'their rows in the annotation file) so the test set is what '
            'you report.')
    dropped = {index for index, _, _ in bad}
    names = '\n  '.join(reason for _, reason, _ in bad)
    MMLogger.get_current_instance().warning(
        f"{split} set: image_check.on_bad_image='skip' leaves out "
        f'{len(bad)} of {total} samples:\n  {names}')
    data.get_subset_([i for i in range(total) if i not in dropped])
    return dataset
