"""CheXpert chest radiographs (the teacher-assistant paper's data)."""
import csv
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS
from .image_check import verify_images
from .split import stratified_split

#: The 14 observations labelled in CheXpert's CSVs, in column order.
CHEXPERT_LABELS = ('No Finding', 'Enlarged Cardiomediastinum',
                   'Cardiomegaly', 'Lung Opacity', 'Lung Lesion', 'Edema',
                   'Consolidation', 'Pneumonia', 'Atelectasis',
                   'Pneumothorax', 'Pleural Effusion', 'Pleural Other',
                   'Fracture', 'Support Devices')

#: The five observations of the CheXpert competition.
CHEXPERT_COMPETITION_LABELS = ('Atelectasis', 'Cardiomegaly', 'Consolidation',
                               'Edema', 'Pleural Effusion')

#: A patient folder in a CheXpert ``Path``, e.g. ``patient00001``.
PATIENT_FOLDER = re.compile(r'(?:^|/)(patient\d+)/')

#: The columns before the labels.
CHEXPERT_META_COLUMNS = ('Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA')


@DATASETS.register_module()
class CheXpert(BaseDataset):
    """CheXpert-v1.0(-small): multi-label chest X-rays with uncertain labels.

    Read in the layout it is downloaded in::

        {data_root}/CheXpert-v1.0-small/
        ├── train.csv    # Path,Sex,Age,Frontal/Lateral,AP/PA,<14 labels>
        ├── valid.csv
        ├── train/patient00001/study1/view1_frontal.jpg ...
        └── valid/...

    ``data_root`` may also be the ``CheXpert-v1.0-small`` (or
    ``CheXpert-v1.0``) folder itself. ``Path`` values
    (``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``)
    are resolved inside that folder, whatever it is called.

    Label values: 1 positive, 0 negative, blank 0, -1 uncertain; uncertain
    entries follow ``uncertainty``: ``'ones'`` (U-Ones, positive),
    ``'zeros'`` (U-Zeros, negative) or ``'ignore'`` (U-Ignore: negative with
    mask 0, so masked losses and ``MedicalMetric(multi_label=True)`` leave
    them out).

    Splits: ``'test'`` is the official ``valid.csv`` (labelled by
    radiologists, never used for training or model selection); ``'train'``
    and ``'val'`` divide ``train.csv`` by patient (the ``patientNNNNN``
    folder of each ``Path``), ``val_ratio`` of the patients' images in
    ``'val'``, seeded, so no patient has images in two splits. ``ann_file``
    reads another CSV as it is (``split`` is then ignored).

    Each entry is ``dict(img_path, gt_label, gt_label_mask, patient_id)``:
    ``gt_label`` the indices of the positive labels, ``gt_label_mask`` an
    ``(L, )`` float tensor (1 = use, 0 = ignore). Pack it with
    ``dict(type='PackInputs', algorithm_keys=['gt_label_mask'])``.

    Args:
        data_root (str): The folder holding ``CheXpert-v1.0-small/``, or that
            folder itself.
        split (str): ``'train'`` or ``'val'`` (patient-grouped parts of
            ``train.csv``) or ``'test'`` (``valid.csv``). Defaults to
            ``'train'``.
        val_ratio (float): Fraction of ``train.csv`` held out as ``'val'``,
            in ``(0, 1)``. Defaults to 0.1.
        seed (int): Seed of the train / val split. Defaults to 0.
        ann_file (str, optional): Another CSV in the same format, relative to
            the CheXpert folder (e.g. a custom split), read as it is;
            overrides ``split``.
        labels (Sequence[str], optional): The label columns to use, in this
            order, e.g. :data:`CHEXPERT_COMPETITION_LABELS`. Defaults to
            None: all 14 (:data:`CHEXPERT_LABELS`).
        uncertainty (str): ``'ones'``, ``'zeros'`` or ``'ignore'``.
            Defaults to ``'ones'``.
        frontal_only (bool): Keep frontal views only (``Frontal/Lateral ==
            'Frontal'``). Defaults to False.
        check_images (bool): Decode every image at start-up and name the
            unreadable ones. Defaults to False.
        pipeline (Sequence): Transforms applied to each entry.
            Defaults to ().
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    SPLITS = {'train': 'train.csv', 'val': 'train.csv', 'test': 'valid.csv'}
    UNCERTAINTY = ('ones', 'zeros', 'ignore')
    FOLDERS = ('CheXpert-v1.0-small', 'CheXpert-v1.0')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 val_ratio: float = 0.1,
                 seed: int = 0,
                 ann_file: Optional[str] = None,
                 labels: Optional[Sequence[str]] = None,
                 uncertainty: str = 'ones',
                 frontal_only: bool = False,
                 check_images: bool = False,
                 pipeline: Sequence = (),
                 **kwargs):
        if split == 'valid':
            raise ValueError(
                "`split='valid'` is gone: valid.csv is the test set, "
                "`split='test'`; `split='val'` is a patient-grouped part of "
                'train.csv (`val_ratio`), so the test set never selects a '
                'checkpoint.')
        if split not in self.SPLITS:
            raise ValueError(f'`split` must be one of {tuple(self.SPLITS)}, '
                             f'got {split!r}.')
        if not 0 < val_ratio < 1:
            raise ValueError(f'`val_ratio` must be in (0, 1), got {val_ratio}.')
        if uncertainty not in self.UNCERTAINTY:
            raise ValueError(f'`uncertainty` must be one of '
                             f'{self.UNCERTAINTY}, got {uncertainty!r}.')
        self.split = split
        self.val_ratio = val_ratio
        self.seed = seed
        self.custom_ann_file = ann_file is not None
        self.labels = tuple(labels) if labels else CHEXPERT_LABELS
        self.uncertainty = uncertainty
        self.frontal_only = frontal_only
        self.check_images = check_images
        self.chexpert_dir = self._find_folder(data_root)
        # Absolute, so that BaseDataset does not join data_root a second time.
        super().__init__(
            ann_file=osp.abspath(
                osp.join(self.chexpert_dir, ann_file or self.SPLITS[split])),
            metainfo=dict(classes=self.labels),
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    @classmethod
    def _find_folder(cls, data_root: str) -> str:
        """The folder holding the CSVs and the ``train/`` / ``valid/``
        image folders."""
        for name in cls.FOLDERS:
            if osp.isdir(osp.join(data_root, name)):
                return osp.join(data_root, name)
        if any(osp.isfile(osp.join(data_root, f))
               for f in cls.SPLITS.values()):
            return data_root
        raise FileNotFoundError(
            f'CheXpert data_root {data_root!r} holds neither '
            f'{" nor ".join(cls.FOLDERS)} nor train.csv / valid.csv.')

    def load_data_list(self) -> List[dict]:
        """Read the CSV into entries (positive indices and masks)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'CheXpert CSV not found: {self.ann_file}')
        with open(self.ann_file, newline='') as f:
            reader = csv.DictReader(f)
            needed = ['Path', *self.labels]
            if self.frontal_only:
                needed.append('Frontal/Lateral')
            missing = [c for c in needed if c not in (reader.fieldnames or [])]
            if missing:
                raise KeyError(
                    f'{self.ann_file} has no column(s) {missing}; CheXpert '
                    f'CSVs have {",".join(CHEXPERT_META_COLUMNS)} and the '
                    f'labels {",".join(CHEXPERT_LABELS)}.')
            data_list, first_line, frontal = [], {}, []
            for line, row in enumerate(reader, start=2):
                if row['Path'] in first_line:
                    raise ValueError(
                        f'{self.ann_file}, line {line}: image '
                        f'{row["Path"]!r} is listed twice (first on line '
                        f'{first_line[row["Path"]]}); each image must have '
                        'one row.')
                first_line[row['Path']] = line
                entry = self._parse_row(row, line)
                frontal.append(row.get('Frontal/Lateral') == 'Frontal')
                data_list.append(entry)
        # the patient-grouped split is cut from every row, whatever
        # `frontal_only` says, so train and val built with different
        # `frontal_only` still hold disjoint patients; lateral rows are
        # dropped after
        keep = range(len(data_list))
        if not self.custom_ann_file and self.split != 'test':
            keep = self._select_split(data_list)
        data_list = [data_list[i] for i in keep
                     if not self.frontal_only or frontal[i]]
        if self.check_images:
            verify_images([entry['img_path'] for entry in data_list])
        return data_list

    def _select_split(self, data_list: List[dict]) -> List[int]:
        """The indices of the train or val part of ``train.csv`` (all its
        rows), grouped by patient."""
        unnamed = [e['img_path'] for e in data_list if e['patient_id'] is None]
        if unnamed:
            raise ValueError(
                f'{self.ann_file}: {len(unnamed)} `Path` values hold no '
                f'patientNNNNN folder (e.g. {unnamed[0]}), so train.csv '
                'cannot be split by patient; give a split of your own with '
                '`ann_file`.')
        # Multi-label rows have no single class to stratify on: whole
        # patients are dealt out by size.
        parts = stratified_split([0] * len(data_list),
                                 (1 - self.val_ratio, self.val_ratio),
                                 self.seed,
                                 [e['patient_id'] for e in data_list])
        return list(parts[0] if self.split == 'train' else parts[1])

    def _parse_row(self, row: dict, line: int) -> dict:
        """One CSV row as ``dict(img_path, gt_label, gt_label_mask)``."""
        positives, mask = [], np.ones(len(self.labels), dtype=np.float32)
        for i, name in enumerate(self.labels):
            text = (row[name] or '').strip()
            try:
                value = float(text) if text else 0.0
            except ValueError:
                value = None
            if value not in (1.0, 0.0, -1.0):
                raise ValueError(
                    f'{self.ann_file}, line {line}, column {name!r}: expected '
                    f'1, 0, -1 or blank, found {row[name]!r}.')
            if value == -1.0:
                if self.uncertainty == 'ones':
                    value = 1.0
                elif self.uncertainty == 'ignore':
                    mask[i] = 0.0
            if value == 1.0:
                positives.append(i)
        head, _, rest = row['Path'].partition('/')
        relative = rest if head.startswith('CheXpert') else row['Path']
        patient = PATIENT_FOLDER.search(relative)
        return dict(
            img_path=osp.join(self.chexpert_dir, relative),
            gt_label=positives,
            gt_label_mask=mask,
            patient_id=patient.group(1) if patient else None)

    def get_data_info(self, idx: int) -> dict:
        """The entry with ``gt_label_mask`` as a float tensor."""
        info = super().get_data_info(idx)
        info['gt_label_mask'] = torch.from_numpy(
            np.asarray(info['gt_label_mask'], dtype=np.float32))
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        """The indices of the positive labels of entry ``idx``."""
        return list(self.get_data_info(idx)['gt_label'])

    def extra_repr(self) -> List[str]:
        """Extra lines of ``repr``."""
        split = ('as it is' if self.custom_ann_file else
                 f'{self.split} (val_ratio {self.val_ratio}, seed '
                 f'{self.seed}, by patient)')
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Split: \t{split}',
            f'Uncertainty policy: \t{self.uncertainty}',
            f'Frontal only: \t{self.frontal_only}',
        ]
