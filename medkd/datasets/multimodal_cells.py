"""Multimodal cell images: one annotation row per cell, one image per modality.

The multimodal leukocyte papers (seeds 002 + 003) image every white blood
cell under M light sources (fluorescent + three bright-field colours). A
sample is a cell; its M images are loaded by ``LoadMultiModalImages`` and
packed on the channel axis by ``PackMultiModalInputs``.
"""
import csv
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS
from .split import stratified_kfold, stratified_split
from .synthetic import (FOUR_MODALITIES, generate_synthetic_cells,
                        synthetic_cell_classes, synthetic_cell_modalities,
                        synthetic_tree_dir)

SPLITS = ('train', 'val', 'test', 'all')

#: The five leukocyte classes of the multimodal WBC dataset.
WBC_CLASSES = ('NEU', 'LYM', 'EOS', 'MO', 'BAS')


@DATASETS.register_module()
class MultiModalCells(BaseDataset):
    """Cells imaged under several modalities, with K-fold splits by cell.

    The annotation CSV has a header and one row per cell::

        id,label,fluorescent,bf_red,bf_green,bf_blue
        cell_0001,NEU,fluorescent/cell_0001.png,red/cell_0001.png,...

    ``label`` is a class name of ``metainfo['classes']`` or a class index;
    the modality columns hold image paths relative to ``data_root`` (plus
    ``data_prefix``). Extra columns are ignored. Each entry of the data list
    is ``dict(img_paths=[M paths], modalities=(M names), gt_label=int,
    sample_id=str)``.

    Splits: with ``num_folds`` set, the cells are divided into
    ``num_folds`` stratified folds (seeded, optionally grouped by
    ``group_column`` e.g. a slide or donor id); fold ``fold`` is ``'test'``,
    the others are ``'train'`` and ``'val'``: ``'val'`` is a stratified
    ``val_ratio`` part of the training folds (grouped by ``group_column``
    too), removed from ``'train'``, so checkpoint selection and
    hyper-parameter choice never see the test fold. ``val_ratio=0`` trains
    on all training folds and has no ``'val'`` split (asking for it is an
    error). ``'all'`` is every row. With
    ``num_folds=None`` the file is used as it is and ``split`` is ignored
    (e.g. SyntheticCells' ``train.csv``).

    Args:
        ann_file (str): The CSV, relative to ``data_root``.
            Defaults to 'annotations.csv'.
        modalities (Sequence[str]): The modality columns to read, in slot
            order (M ≥ 1). Defaults to ``('fluorescent', 'bf_red',
            'bf_green', 'bf_blue')``.
        split (str): 'train', 'val', 'test' or 'all'. Defaults to 'train'.
        num_folds (int, optional): Number of cross-validation folds, or None
            to use every row. Defaults to 5.
        fold (int): The held-out fold, in ``[0, num_folds)``. Defaults to 0.
        val_ratio (float): Fraction of the training folds used as
            ``'val'``; 0 leaves no ``'val'`` split. Defaults to 0.1.
        seed (int): Seed of the folds and the validation part. Defaults to 0.
        id_column (str): Column with the cell id. Defaults to 'id'.
        label_column (str): Column with the label. Defaults to 'label'.
        group_column (str, optional): Column whose values are kept inside one
            fold (e.g. the donor). Defaults to None (split by cell).
        check_files (bool): Check that every image exists when the list is
            loaded. Defaults to True.
        metainfo (dict, optional): ``classes`` overrides the default
            ``('NEU', 'LYM', 'EOS', 'MO', 'BAS')``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``classes`` ...).
    """

    METAINFO = dict(classes=WBC_CLASSES)

    def __init__(self,
                 ann_file: str = 'annotations.csv',
                 modalities: Sequence[str] = FOUR_MODALITIES,
                 split: str = 'train',
                 num_folds: Optional[int] = 5,
                 fold: int = 0,
                 val_ratio: float = 0.1,
                 seed: int = 0,
                 id_column: str = 'id',
                 label_column: str = 'label',
                 group_column: Optional[str] = None,
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(
                f'split must be one of {SPLITS}, but got {split!r}.')
        if isinstance(modalities, str) or len(modalities) == 0:
            raise ValueError('modalities must be a non-empty sequence of '
                             f'column names, but got {modalities!r}.')
        if num_folds is not None and not 0 <= fold < num_folds:
            raise ValueError(f'fold must be in [0, {num_folds}) with '
                             f'num_folds={num_folds}, but got {fold}.')
        if not 0.0 <= val_ratio < 1.0:
            raise ValueError(f'val_ratio must be in [0, 1), got {val_ratio}')
        if split == 'val' and val_ratio == 0 and num_folds is not None:
            raise ValueError(
                "split='val' with val_ratio=0 would validate on the test "
                'fold; set val_ratio > 0 (a part of the training folds) or '
                'do not build a val split.')
        self.modalities = tuple(modalities)
        self.split = split
        self.num_folds = num_folds
        self.fold = fold
        self.val_ratio = val_ratio
        self.seed = seed
        self.id_column = id_column
        self.label_column = label_column
        self.group_column = group_column
        self.check_files = check_files
        metainfo = {'modalities': self.modalities, **(metainfo or {})}
        super().__init__(ann_file=ann_file, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the CSV and keep the rows of the split."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'MultiModalCells: annotation file {self.ann_file} not '
                'found (ann_file is relative to data_root).')
        with open(self.ann_file, newline='') as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
        required = [self.id_column, self.label_column, *self.modalities]
        if self.group_column:
            required.append(self.group_column)
        missing = [c for c in required if c not in columns]
        if missing:
            raise KeyError(
                f'{self.ann_file} has no column(s) {missing} (modalities '
                f'{list(self.modalities)}); its columns are {columns}.')
        if not rows:
            raise ValueError(f'{self.ann_file} has no rows.')

        classes = list(self.metainfo['classes'])
        data_list, first_line = [], {}
        for line, row in enumerate(rows, start=2):
            sample_id = row[self.id_column]
            if sample_id in first_line:
                raise ValueError(
                    f'{self.ann_file}, line {line}: {self.id_column} '
                    f'{sample_id!r} is used twice (first on line '
                    f'{first_line[sample_id]}); each cell must have one row '
                    '(its folds would otherwise leak).')
            first_line[sample_id] = line
            paths = [
                osp.join(self.img_prefix, row[m]) for m in self.modalities
            ]
            if self.check_files:
                for modality, path in zip(self.modalities, paths):
                    if not osp.isfile(path):
                        raise FileNotFoundError(
                            f'{self.ann_file}, line {line}: the {modality} '
                            f'image {path} does not exist.')
            data_list.append(
                dict(
                    img_paths=paths,
                    modalities=self.modalities,
                    gt_label=self._parse_label(row[self.label_column], classes,
                                               line),
                    sample_id=row[self.id_column],
                    # the donor (group_column) is the unit CIs resample
                    patient_id=(row[self.group_column]
                                if self.group_column else None)))
        if self.num_folds is None:
            return data_list
        groups = ([row[self.group_column]
                   for row in rows] if self.group_column else None)
        keep = self._split_indices([d['gt_label'] for d in data_list], groups)
        return [data_list[i] for i in keep]

    def _parse_label(self, value: str, classes: List[str], line: int) -> int:
        value = value.strip()
        if value in classes:
            return classes.index(value)
        if value.lstrip('-').isdigit() and 0 <= int(value) < len(classes):
            return int(value)
        raise ValueError(
            f'{self.ann_file}, line {line}: label {value!r} is neither one '
            f'of the classes {classes} nor an index below {len(classes)}.')

    def _split_indices(self, labels: Sequence[int],
                       groups: Optional[Sequence]) -> np.ndarray:
        """Indices of the rows in ``self.split`` for ``self.fold``."""
        if self.split == 'all':
            return np.arange(len(labels))
        train, test = stratified_kfold(labels, self.num_folds, self.fold,
                                       self.seed, groups)
        if self.split == 'test':
            return test
        if self.val_ratio == 0:
            return train
        labels = np.asarray(labels)
        sub_groups = None if groups is None else np.asarray(groups)[train]
        fit, val = stratified_split(labels[train],
                                    (1 - self.val_ratio, self.val_ratio),
                                    self.seed, sub_groups)
        return train[val] if self.split == 'val' else train[fit]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        folds = ('all rows' if self.num_folds is None else
                 f'fold {self.fold} of {self.num_folds}')
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Modalities: \t{self.modalities}',
            f'Split: \t{self.split} ({folds}, val_ratio {self.val_ratio})',
        ]


@DATASETS.register_module()
class SyntheticMultiModalCells(MultiModalCells):
    """medkd's synthetic cells rendered under several modalities.

    Generates :func:`~medkd.datasets.generate_synthetic_cells` with
    ``num_modalities`` into :func:`~medkd.datasets.synthetic_tree_dir`
    (a subfolder of ``data_root`` per parameter set, so the same
    ``data_root`` also holds SyntheticCells trees) on first use and reads
    its ``{split}.csv`` as it is.

    Args:
        data_root (str): Parent folder of the generated tree.
            Defaults to 'data/synthetic_cells'.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        num_classes (int): Number of cell classes. Defaults to 4.
        num_per_class (Sequence[int]): Cells per class in the train, val and
            test splits. Defaults to (200, 50, 100).
        image_size (int): Side of the images in pixels. Defaults to 64.
        num_modalities (int): Modalities rendered. Defaults to 4 (fluorescent,
            bf_red, bf_green, bf_blue).
        modalities (Sequence[str], optional): The modalities read, in slot
            order. Defaults to all rendered ones.
        seed (int): Generator seed. Defaults to 0.
        **kwargs: Other arguments of :class:`MultiModalCells` (no folds).
    """

    def __init__(self,
                 data_root: str = 'data/synthetic_cells',
                 split: str = 'train',
                 num_classes: int = 4,
                 num_per_class: Sequence[int] = (200, 50, 100),
                 image_size: int = 64,
                 num_modalities: int = 4,
                 modalities: Optional[Sequence[str]] = None,
                 seed: int = 0,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if kwargs.get('num_folds') is not None:
            raise ValueError(
                'SyntheticMultiModalCells reads the generated {split}.csv '
                'as it is; for cross-validation use MultiModalCells with '
                "ann_file='train.csv' on the generated folder.")
        if split == 'all':
            raise ValueError("SyntheticMultiModalCells has no split 'all'.")
        kwargs['num_folds'] = None
        self.generator_cfg = dict(
            num_classes=num_classes,
            num_per_class=tuple(num_per_class),
            image_size=image_size,
            num_modalities=num_modalities,
            seed=seed)
        metainfo = {
            'classes': synthetic_cell_classes(num_classes),
            **(metainfo or {})
        }
        super().__init__(
            ann_file=f'{split}.csv',
            modalities=modalities or synthetic_cell_modalities(num_modalities),
            split=split,
            data_root=synthetic_tree_dir(data_root, **self.generator_cfg),
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Generate the data if needed, then read the split's CSV."""
        generate_synthetic_cells(self.data_root, **self.generator_cfg)
        return super().load_data_list()
