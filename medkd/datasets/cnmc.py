"""C-NMC 2019 leukaemia cell images (the GatedMultiTeacher paper's data)."""
import csv
import os
import os.path as osp
import re
from typing import List, Optional, Sequence

from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS
from .image_check import verify_images
from .split import stratified_split

PATIENT_ID = re.compile(r'^UID_([^_]+)_')


def patient_of(file_name: str) -> Optional[str]:
    """Patient id of a C-NMC file name, e.g. ``'H10'`` for
    ``'UID_H10_43_1_hem.bmp'``; None if the name does not start with
    ``UID_<patient>_``."""
    match = PATIENT_ID.match(file_name)
    return match.group(1) if match else None


@DATASETS.register_module()
class CNMC2019(BaseDataset):
    """C-NMC 2019: single-cell images of B-ALL blasts (``all``) and normal
    B cells (``hem``).

    The training data is read in the layout it is downloaded in::

        {data_root}/training_data/          (TCIA: C-NMC_training_data/)
        ├── fold_0
        │   ├── all/UID_11_10_1_all.bmp ...
        │   └── hem/UID_H10_43_1_hem.bmp ...
        ├── fold_1
        └── fold_2

    ``data_root`` may also be the ``training_data`` folder itself. The three
    folds are pooled and cut into train / val / test with a seeded stratified
    split grouped by patient (the id after ``UID_`` in the file name), so no
    patient's cells are in two splits. Labels: ``hem`` = 0, ``all`` = 1
    (blast).

    Warning:
        ``group_by_patient=False`` splits per image: cells of one patient
        then land in train *and* test, and test scores measure
        recognising a patient seen in training, not a new patient. Use it
        only to reproduce per-image splits of earlier work.

    With ``preliminary_csv`` the dataset instead reads the phase-2
    (preliminary test) data: numbered ``.bmp`` files in
    ``preliminary_img_dir`` listed by a CSV with columns
    ``Patient_ID,new_names,labels`` (``labels``: 1 = all, 0 = hem).

    Each entry is ``dict(img_path, gt_label, patient_id)``.

    Args:
        data_root (str): Folder holding ``training_data/`` or
            ``C-NMC_training_data/``, or that folder itself. Relative
            ``preliminary_csv`` / ``preliminary_img_dir`` are taken from it.
        split (str): ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
            Ignored with ``preliminary_csv``. Defaults to ``'train'``.
        split_ratios (Sequence[float]): Fractions of the pooled folds in
            train, val and test. Defaults to ``(0.7, 0.15, 0.15)``.
        seed (int): Seed of the split. Defaults to 0.
        group_by_patient (bool): Keep each patient's cells in one split
            (needs ``UID_<patient>_`` file names). Defaults to True.
        folds (Sequence[int], optional): Training folds to read, e.g.
            ``(0, 1)``; None reads every ``fold_*`` folder. Defaults to None.
        check_images (bool): Decode every image of the split at start-up and
            name the unreadable ones. Defaults to False.
        preliminary_csv (str, optional): The phase-2 label CSV. Defaults to
            None.
        preliminary_img_dir (str, optional): Folder of the phase-2 images;
            None means the CSV's folder. Defaults to None.
        pipeline (Sequence): Transforms applied to each entry.
            Defaults to ().
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``test_mode``, ``lazy_init``, ...).
    """

    METAINFO = {'classes': ('hem', 'all')}
    SPLITS = ('train', 'val', 'test', 'all')
    TRAIN_FOLDERS = ('training_data', 'C-NMC_training_data')
    IMG_SUFFIXES = ('.bmp', )
    CSV_COLUMNS = ('Patient_ID', 'new_names', 'labels')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 split_ratios: Sequence[float] = (0.7, 0.15, 0.15),
                 seed: int = 0,
                 group_by_patient: bool = True,
                 folds: Optional[Sequence[int]] = None,
                 check_images: bool = False,
                 preliminary_csv: Optional[str] = None,
                 preliminary_img_dir: Optional[str] = None,
                 pipeline: Sequence = (),
                 **kwargs):
        if split not in self.SPLITS:
            raise ValueError(
                f'`split` must be one of {self.SPLITS}, got {split!r}.')
        if len(split_ratios) != 3:
            raise ValueError('`split_ratios` must be (train, val, test) '
                             f'fractions, got {tuple(split_ratios)}.')
        self.split = split
        self.split_ratios = tuple(split_ratios)
        self.seed = seed
        self.group_by_patient = group_by_patient
        self.folds = None if folds is None else tuple(folds)
        self.check_images = check_images
        self.preliminary_csv = preliminary_csv
        self.preliminary_img_dir = preliminary_img_dir
        super().__init__(
            ann_file='', data_root=data_root, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the entries of the chosen split (or the phase-2 CSV)."""
        if self.preliminary_csv is not None:
            data_list = self._load_preliminary()
        else:
            data_list = self._load_training_folds()
            if self.split != 'all':
                data_list = self._select_split(data_list)
        if self.check_images:
            verify_images([entry['img_path'] for entry in data_list])
        return data_list

    def _find_training_root(self) -> str:
        """The folder that holds the ``fold_*`` folders."""
        candidates = [
            osp.join(self.data_root, name) for name in self.TRAIN_FOLDERS
        ] + [self.data_root]
        for candidate in candidates:
            if osp.isdir(candidate) and any(
                    name.startswith('fold_')
                    and osp.isdir(osp.join(candidate, name))
                    for name in os.listdir(candidate)):
                return candidate
        raise FileNotFoundError(
            'No C-NMC 2019 training folds (fold_0, fold_1, fold_2) found; '
            f'tried: {", ".join(candidates)}.')

    def _load_training_folds(self) -> List[dict]:
        root = self._find_training_root()
        available = sorted(
            name for name in os.listdir(root)
            if name.startswith('fold_') and osp.isdir(osp.join(root, name)))
        if self.folds is None:
            fold_names = available
        else:
            fold_names = [f'fold_{fold}' for fold in self.folds]
            missing = [name for name in fold_names if name not in available]
            if missing:
                raise FileNotFoundError(
                    f'`folds={self.folds}` asks for {missing}, which are not '
                    f'in {root} (found: {available}).')

        data_list = []
        for fold_name in fold_names:
            for label, class_name in enumerate(self.METAINFO['classes']):
                class_dir = osp.join(root, fold_name, class_name)
                if not osp.isdir(class_dir):
                    raise FileNotFoundError(
                        f'Class folder {class_dir} is missing; every fold '
                        f'needs {self.METAINFO["classes"]} folders.')
                files = sorted(
                    name for name in os.listdir(class_dir)
                    if name.lower().endswith(self.IMG_SUFFIXES))
                if not files:
                    raise FileNotFoundError(
                        f'Class folder {class_dir} holds no '
                        f'{"/".join(self.IMG_SUFFIXES)} images.')
                data_list.extend(
                    dict(
                        img_path=osp.join(class_dir, name),
                        gt_label=label,
                        patient_id=patient_of(name)) for name in files)
        return data_list

    def _select_split(self, data_list: List[dict]) -> List[dict]:
        groups = None
        if self.group_by_patient:
            unnamed = [
                entry['img_path'] for entry in data_list
                if entry['patient_id'] is None
            ]
            if unnamed:
                raise ValueError(
                    '`group_by_patient=True` (the default) needs file names '
                    f'starting with UID_<patient>_, but {len(unnamed)} do '
                    f'not, e.g. {unnamed[0]}. Rename the files, or set '
                    '`group_by_patient=False` for a per-image split (one '
                    "patient's cells may then be in train and test).")
            groups = [entry['patient_id'] for entry in data_list]
        parts = stratified_split([entry['gt_label'] for entry in data_list],
                                 self.split_ratios, self.seed, groups)
        return [data_list[i] for i in parts[self.SPLITS.index(self.split)]]

    def _in_root(self, path: str) -> str:
        return path if osp.isabs(path) else osp.join(self.data_root, path)

    def _load_preliminary(self) -> List[dict]:
        csv_path = self._in_root(self.preliminary_csv)
        if not osp.isfile(csv_path):
            raise FileNotFoundError(
                f'`preliminary_csv` file {csv_path} does not exist.')
        img_dir = (
            osp.dirname(csv_path) if self.preliminary_img_dir is None else
            self._in_root(self.preliminary_img_dir))

        data_list, first_line = [], {}
        with open(csv_path, newline='', encoding='utf-8-sig') as f:
            reader = csv.DictReader(f)
            columns = [name.strip() for name in reader.fieldnames or []]
            for column in self.CSV_COLUMNS:
                if column not in columns:
                    raise ValueError(
                        f'{csv_path} has no column {column!r}; expected '
                        f'{",".join(self.CSV_COLUMNS)}, found {columns}.')
            reader.fieldnames = columns
            for line, row in enumerate(reader, start=2):
                label = row['labels'].strip()
                if label not in ('0', '1'):
                    raise ValueError(
                        f'{csv_path} line {line}: `labels` must be 0 (hem) '
                        f'or 1 (all), got {label!r}.')
                name = row['new_names'].strip()
                if name in first_line:
                    raise ValueError(
                        f'{csv_path} line {line}: image {name!r} is listed '
                        f'twice (first on line {first_line[name]}).')
                first_line[name] = line
                img_path = osp.join(img_dir, name)
                if not osp.isfile(img_path):
                    raise FileNotFoundError(
                        f'{csv_path} line {line} lists {img_path}, which '
                        'does not exist.')
                patient = row['Patient_ID'].strip()
                data_list.append(
                    dict(
                        img_path=img_path,
                        gt_label=int(label),
                        patient_id=patient_of(patient) or patient))
        if not data_list:
            raise ValueError(f'{csv_path} lists no images.')
        return data_list

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        if self.preliminary_csv is not None:
            return [
                f'Preliminary CSV: \t{self._in_root(self.preliminary_csv)}'
            ]
        return [
            f'Data root: \t{self.data_root}',
            f'Split: \t{self.split} of {self.split_ratios} '
            f'(seed {self.seed}, by patient: {self.group_by_patient})',
        ]
