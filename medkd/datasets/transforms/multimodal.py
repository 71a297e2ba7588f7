"""Transforms for samples made of one image per modality.

A multimodal sample carries ``imgs`` (a list of M ``(H, W[, C])`` arrays,
slot order) instead of ``img``. ``LoadMultiModalImages`` reads them,
``MultiModalApply`` runs any mmpretrain pipeline on each image (with shared
or independent randomness) and ``PackMultiModalInputs`` concatenates them
on the channel axis into one ``(ΣC, H, W)`` input.
"""
import random
from typing import Dict, List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmengine.fileio import get
from mmpretrain.datasets.transforms import PackInputs

from medkd.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadMultiModalImages(BaseTransform):
    """Load the M images of a sample.

    Required keys: ``img_paths`` (M paths) and, when ``color_type`` is a
    dict, ``modalities`` (M names). Added keys: ``imgs`` (M uint8 arrays,
    ``(H, W, 3)`` BGR for ``'color'``, ``(H, W)`` for ``'grayscale'``),
    ``img_shape`` and ``ori_shape`` (of the first image).

    Args:
        color_type (str | Sequence[str] | dict): ``'color'`` or
            ``'grayscale'`` for every modality, one per slot, or
            ``{modality: color_type}`` (modalities not named are
            ``'color'``). Defaults to 'color'.
        imdecode_backend (str): mmcv image decoding backend.
            Defaults to 'cv2'.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 color_type: Union[str, Sequence[str], Dict[str,
                                                            str]] = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None):
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _color_types(self, results: dict) -> List[str]:
        paths = results['img_paths']
        if isinstance(self.color_type, str):
            return [self.color_type] * len(paths)
        if isinstance(self.color_type, dict):
            return [
                self.color_type.get(m, 'color') for m in results['modalities']
            ]
        if len(self.color_type) != len(paths):
            raise ValueError(
                f'LoadMultiModalImages has {len(self.color_type)} color types '
                f'{list(self.color_type)} for {len(paths)} modalities.')
        return list(self.color_type)

    def transform(self, results: dict) -> dict:
        imgs = []
        for path, color_type in zip(results['img_paths'],
                                    self._color_types(results)):
            try:
                buffer = get(path, backend_args=self.backend_args)
            except FileNotFoundError:
                raise FileNotFoundError(
                    f'LoadMultiModalImages: image {path} not found.') from None
            img = mmcv.imfrombytes(
                buffer, flag=color_type, backend=self.imdecode_backend)
            if img is None:
                raise ValueError(f'LoadMultiModalImages: cannot decode {path}')
            imgs.append(img)
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['ori_shape'] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')


@TRANSFORMS.register_module()
class MultiModalApply(BaseTransform):
    """Run an image pipeline on every modality of a sample.

    Each image of ``imgs`` goes through ``transforms`` as its own
    ``results`` dict (``img``, ``img_shape``, ``ori_shape``). With
    ``shared=True`` every modality starts from the same state of Python's,
    NumPy's and torch's random generators, so a random transform draws the
    same parameters (crop, flip, RandAugment ops and magnitudes) for all of
    them; with ``shared=False`` the draws are independent, as in the papers
    (RandAugment per image). A grayscale ``(H, W)`` image goes through the
    pipeline as three equal channels (mmcv's colour ops expect 3) and comes
    back as ``(H, W)``.

    Args:
        transforms (Sequence[dict]): mmpretrain / mmcv transform configs
            acting on ``img`` (e.g. ``RandAugment``, ``CenterCrop``).
        shared (bool): Share the random state across modalities.
            Defaults to False.
    """

    def __init__(self, transforms: Sequence[dict], shared: bool = False):
        self.pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.shared = shared

    def transform(self, results: dict) -> Optional[dict]:
        state = _random_state() if self.shared else None
        outputs = []
        for img in results['imgs']:
            if state is not None:
                _set_random_state(state)
            gray = img.ndim == 2
            if gray:
                img = np.repeat(img[..., None], 3, axis=2)
            out = self.pipeline(
                dict(
                    img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
            if out is None:
                return None
            outputs.append(out['img'][..., 0] if gray else out['img'])
        results['imgs'] = outputs
        results['img_shape'] = outputs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(shared={self.shared}, '
                f'transforms={self.pipeline})')


def _random_state():
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _set_random_state(state) -> None:
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


@TRANSFORMS.register_module()
class PackMultiModalInputs(PackInputs):
    """Pack M images into one ``(ΣC, H, W)`` input plus a DataSample.

    Grayscale images count one channel, colour images three; all must have
    the same height and width. The DataSample gets ``gt_label`` and, for
    MIMO training samples (see :class:`~medkd.datasets.MIMODataset`),
    ``slot_labels`` (an ``(M,)`` long tensor, the label of each slot's
    cell).

    Args:
        algorithm_keys (Sequence[str]): Extra data fields.
            Defaults to ``('slot_labels', )``.
        meta_keys (Sequence[str]): Meta fields. Defaults to
            ``('sample_idx', 'sample_id', 'slot_ids', 'img_paths',
            'modalities', 'ori_shape', 'img_shape', 'patient_id')``.
    """

    def __init__(self,
                 algorithm_keys: Sequence[str] = ('slot_labels', ),
                 meta_keys: Sequence[str] = ('sample_idx', 'sample_id',
                                             'slot_ids', 'img_paths',
                                             'modalities', 'ori_shape',
                                             'img_shape', 'patient_id')):
        super().__init__(
            input_key='imgs',
            algorithm_keys=algorithm_keys,
            meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        imgs = [np.asarray(img) for img in results['imgs']]
        shapes = {img.shape[:2] for img in imgs}
        if len(shapes) != 1:
            raise ValueError(
                'PackMultiModalInputs needs images of one size, but the '
                f'modalities of {results.get("img_paths")} have sizes '
                f'{[img.shape[:2] for img in imgs]}; resize or crop them in '
                'MultiModalApply.')
        results = dict(results)
        results['imgs'] = torch.cat(self.format_input(imgs), dim=0)
        if 'slot_labels' in results:
            results['slot_labels'] = torch.as_tensor(
                results['slot_labels'], dtype=torch.long)
        return super().transform(results)
