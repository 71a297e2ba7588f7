"""MedMNIST v2 read from the official ``.npz`` files."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS

SPLITS = ('train', 'val', 'test')
SIZES = (None, 28, 64, 128, 224)

_ORGAN_CLASSES = ('bladder', 'femur-left', 'femur-right', 'heart',
                  'kidney-left', 'kidney-right', 'liver', 'lung-left',
                  'lung-right', 'pancreas', 'spleen')

#: Class (or label) names of the MedMNIST 2D flags, in label order.
MEDMNIST_CLASSES = {
    'bloodmnist':
    ('basophil', 'eosinophil', 'erythroblast',
     'immature granulocytes (myelocytes, metamyelocytes and '
     'promyelocytes)', 'lymphocyte', 'monocyte', 'neutrophil', 'platelet'),
    'pathmnist':
    ('adipose', 'background', 'debris', 'lymphocytes', 'mucus',
     'smooth muscle', 'normal colon mucosa', 'cancer-associated stroma',
     'colorectal adenocarcinoma epithelium'),
    'chestmnist':
    ('atelectasis', 'cardiomegaly', 'effusion', 'infiltration', 'mass',
     'nodule', 'pneumonia', 'pneumothorax', 'consolidation', 'edema',
     'emphysema', 'fibrosis', 'pleural', 'hernia'),
    'dermamnist':
    ('actinic keratoses and intraepithelial carcinoma', 'basal cell carcinoma',
     'benign keratosis-like lesions', 'dermatofibroma', 'melanoma',
     'melanocytic nevi', 'vascular lesions'),
    'octmnist': ('choroidal neovascularization', 'diabetic macular edema',
                 'drusen', 'normal'),
    'pneumoniamnist': ('normal', 'pneumonia'),
    'retinamnist': ('0', '1', '2', '3', '4'),
    'breastmnist': ('malignant', 'normal, benign'),
    'tissuemnist':
    ('Collecting Duct, Connecting Tubule', 'Distal Convoluted Tubule',
     'Glomerular endothelial cells', 'Interstitial endothelial cells',
     'Leukocytes', 'Podocytes', 'Proximal Tubule Segments',
     'Thick Ascending Limb'),
    'organamnist':
    _ORGAN_CLASSES,
    'organcmnist':
    _ORGAN_CLASSES,
    'organsmnist':
    _ORGAN_CLASSES,
}


def medmnist_filename(flag: str, size: Optional[int] = None) -> str:
    """The official file name of a MedMNIST flag at a size.

    Args:
        flag (str): Dataset flag, e.g. 'bloodmnist'.
        size (int, optional): Image side, one of 28, 64, 128, 224; None or
            28 is the original ``{flag}.npz``. Defaults to None.

    Returns:
        str: ``'{flag}.npz'`` or ``'{flag}_{size}.npz'``.
    """
    if size not in SIZES:
        raise ValueError(f'size must be one of {SIZES}, but got {size!r}.')
    return f'{flag}.npz' if size in (None, 28) else f'{flag}_{size}.npz'


@DATASETS.register_module()
class MedMNIST(BaseDataset):
    """`MedMNIST v2 <https://medmnist.com/>`_ 2D datasets from ``.npz``.

    Reads the files as downloaded from Zenodo::

        data_root/
        ├── bloodmnist.npz       # 28 x 28
        ├── bloodmnist_64.npz    # 64 x 64 (also _128, _224)
        └── ...

    Each file holds ``{split}_images`` (uint8, ``(N, H, W)`` or
    ``(N, H, W, 3)``, RGB) and ``{split}_labels`` (``(N, L)``). Files with
    one label column are single-label (``gt_label`` is the class index);
    files with several (``chestmnist``) are multi-label (``gt_label`` is
    the list of positive label indices).

    The entries carry the image itself under ``'img'``, in the file's RGB
    order (so the data preprocessor takes ``to_rgb=False``, as for
    mmpretrain's CIFAR), with ``img_shape`` and ``ori_shape``; a pipeline
    therefore starts without ``LoadImageFromFile``, e.g.
    ``[dict(type='ResizeEdge', scale=64), dict(type='PackInputs')]``.

    Args:
        data_root (str): Folder of the ``.npz`` files.
        flag (str): Dataset flag, e.g. 'bloodmnist', 'pathmnist',
            'chestmnist'. Defaults to 'bloodmnist'.
        size (int, optional): Image side: None or 28 reads ``{flag}.npz``,
            64, 128 and 224 read ``{flag}_{size}.npz``. Defaults to None.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        as_rgb (bool): Whether gray images are repeated to 3 channels;
            otherwise they stay ``(H, W)``. Defaults to True.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        metainfo (dict, optional): Meta information; ``classes`` defaults
            to the flag's class names (``class_{i}`` for unknown flags).
        **kwargs: Other keyword arguments in :class:`BaseDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 flag: str = 'bloodmnist',
                 size: Optional[int] = None,
                 split: str = 'train',
                 as_rgb: bool = True,
                 pipeline: Sequence = (),
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(
                f'split must be one of {SPLITS}, but got {split!r}.')
        self.flag = flag
        self.size = size
        self.split = split
        self.as_rgb = as_rgb
        metainfo = dict(metainfo or {})
        if flag in MEDMNIST_CLASSES:
            metainfo.setdefault('classes', MEDMNIST_CLASSES[flag])
        super().__init__(
            ann_file=medmnist_filename(flag, size),
            metainfo=metainfo,
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split's images and labels from the ``.npz`` file."""
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'MedMNIST file not found: {path} (flag={self.flag!r}, '
                f'size={self.size!r}). Download '
                f'{osp.basename(path)} from https://zenodo.org/records/'
                '10519652 into that folder.')
        keys = [f'{self.split}_images', f'{self.split}_labels']
        with np.load(path) as npz:
            missing = [key for key in keys if key not in npz.files]
            if missing:
                raise KeyError(f'{path} has no {missing}; it holds '
                               f'{sorted(npz.files)}.')
            images, labels = (npz[key] for key in keys)
            # Unknown flags: count the classes over every split of the file.
            label_max = max(
                int(npz[key].max()) for key in npz.files
                if key.endswith('_labels') and npz[key].size)
        if labels.ndim == 1:
            labels = labels[:, None]
        if len(images) != len(labels):
            raise ValueError(
                f'{path}: {self.split}_images has {len(images)} images but '
                f'{self.split}_labels has {len(labels)} rows.')
        if images.ndim not in (3, 4):
            raise ValueError(
                f'{path}: {self.split}_images must be (N, H, W) or '
                f'(N, H, W, 3), but has shape {images.shape}.')

        multi_label = labels.shape[1] > 1
        if not multi_label and self.CLASSES is not None:
            wrong = np.flatnonzero((labels[:, 0] < 0)
                                   | (labels[:, 0] >= len(self.CLASSES)))
            if wrong.size:
                raise ValueError(
                    f'{path}: {self.split}_labels row {int(wrong[0])} is '
                    f'{int(labels[wrong[0], 0])}, expected a class index in '
                    f'[0, {len(self.CLASSES)}) ({self.flag} has '
                    f'{len(self.CLASSES)} classes); {wrong.size} such '
                    'row(s).')
        if self.CLASSES is None:
            num_classes = labels.shape[1] if multi_label else label_max + 1
            self._metainfo['classes'] = tuple(f'class_{i}'
                                              for i in range(num_classes))

        if images.ndim == 3 and self.as_rgb:
            images = np.repeat(images[..., None], 3, axis=-1)
        shape = images.shape[1:3]
        data_list = []
        for img, label in zip(images, labels):
            gt_label = (
                np.flatnonzero(label).tolist()
                if multi_label else int(label[0]))
            data_list.append(
                dict(
                    img=img,
                    img_shape=shape,
                    ori_shape=shape,
                    gt_label=gt_label))
        return data_list

    def get_cat_ids(self, idx: int) -> List[int]:
        """The class index, or the positive label indices.

        Args:
            idx (int): Index of data.

        Returns:
            list[int]: Labels of the sample.
        """
        gt_label = self.get_data_info(idx)['gt_label']
        return list(gt_label) if isinstance(gt_label, list) else [gt_label]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [f'File: \t{self.ann_file}', f'Split: \t{self.split}']
