"""MedMNIST v2 ``.npz`` files, as downloaded from the MedMNIST site."""
import os.path as osp
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS

#: Class names of the MedMNIST flags (index order of the labels).
MEDMNIST_CLASSES = dict(
    bloodmnist=('basophil', 'eosinophil', 'erythroblast',
                'immature granulocytes', 'lymphocyte', 'monocyte',
                'neutrophil', 'platelet'),
    pathmnist=('adipose', 'background', 'debris', 'lymphocytes', 'mucus',
               'smooth muscle', 'normal colon mucosa',
               'cancer-associated stroma',
               'colorectal adenocarcinoma epithelium'),
    chestmnist=('atelectasis', 'cardiomegaly', 'effusion', 'infiltration',
                'mass', 'nodule', 'pneumonia', 'pneumothorax',
                'consolidation', 'edema', 'emphysema', 'fibrosis',
                'pleural', 'hernia'),
    dermamnist=('actinic keratoses and intraepithelial carcinoma',
                'basal cell carcinoma', 'benign keratosis-like lesions',
                'dermatofibroma', 'melanoma', 'melanocytic nevi',
                'vascular lesions'),
    octmnist=('choroidal neovascularization', 'diabetic macular edema',
              'drusen', 'normal'),
    pneumoniamnist=('normal', 'pneumonia'),
    breastmnist=('malignant', 'normal, benign'),
    organamnist=('bladder', 'femur-left', 'femur-right', 'heart',
                 'kidney-left', 'kidney-right', 'liver', 'lung-left',
                 'lung-right', 'pancreas', 'spleen'),
)
MULTI_LABEL_FLAGS = ('chestmnist', )
SPLITS = ('train', 'val', 'test')


@DATASETS.register_module()
class MedMNIST(BaseDataset):
    """A MedMNIST v2 dataset read from its official ``.npz`` file.

    The file is ``{data_root}/{flag}.npz`` (28×28) or
    ``{data_root}/{flag}_{size}.npz`` (64, 128, 224) with the arrays
    ``{split}_images`` (uint8, ``N×H×W`` or ``N×H×W×3``) and
    ``{split}_labels`` (``N×L``). Single-label flags give ``gt_label`` as an
    int; multi-label ChestMNIST gives the list of positive label indices.
    Images are kept in memory and enter the pipeline as ``img`` (no
    ``LoadImageFromFile``).

    Args:
        data_root (str): Folder with the ``.npz`` file(s).
        flag (str): e.g. ``'bloodmnist'``, ``'pathmnist'``, ``'chestmnist'``.
        size (int, optional): 64, 128 or 224 for the larger releases;
            None for the 28×28 one. Defaults to None.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        as_rgb (bool): Repeat gray images to 3 channels. Defaults to True.
        pipeline (Sequence): Transforms applied to each entry.
        **kwargs: Other arguments of :class:`BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 flag: str,
                 size: Optional[int] = None,
                 split: str = 'train',
                 as_rgb: bool = True,
                 pipeline=(),
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if size not in (None, 28, 64, 128, 224):
            raise ValueError(f'size must be None, 64, 128 or 224, got {size}')
        self.flag = flag.lower()
        self.size = size
        self.split = split
        self.as_rgb = as_rgb
        self.multi_label = self.flag in MULTI_LABEL_FLAGS
        self.npz_path = osp.join(
            data_root, self.flag +
            ('' if size in (None, 28) else f'_{size}') + '.npz')
        if metainfo is None and self.flag in MEDMNIST_CLASSES:
            metainfo = dict(classes=MEDMNIST_CLASSES[self.flag])
        super().__init__(ann_file='', data_root=data_root, metainfo=metainfo,
                         pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.npz_path):
            raise FileNotFoundError(
                f'MedMNIST file not found: {self.npz_path} (flag '
                f'{self.flag!r}, size {self.size}); download {self.flag}'
                f'{"" if self.size in (None, 28) else f"_{self.size}"}.npz '
                'from the MedMNIST release into data_root')
        with np.load(self.npz_path) as npz:
            keys = (f'{self.split}_images', f'{self.split}_labels')
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise KeyError(f'{self.npz_path} has no {missing}; it has '
                               f'{sorted(npz.files)}')
            images, labels = npz[keys[0]], npz[keys[1]]
        if len(images) != len(labels):
            raise ValueError(f'{self.npz_path}: {len(images)} {keys[0]} but '
                             f'{len(labels)} {keys[1]}')
        labels = labels.reshape(len(labels), -1)
        if 'classes' not in self._metainfo:
            width = labels.shape[1] if self.multi_label else int(
                labels.max()) + 1
            self._metainfo['classes'] = tuple(
                f'class_{i}' for i in range(width))
        data_list = []
        for image, label in zip(images, labels):
            if image.ndim == 2 and self.as_rgb:
                image = np.repeat(image[..., None], 3, axis=2)
            gt_label = np.flatnonzero(label).tolist(
            ) if self.multi_label else int(label[0])
            data_list.append(
                dict(img=image, img_shape=image.shape[:2],
                     ori_shape=image.shape[:2], gt_label=gt_label))
        return data_list
