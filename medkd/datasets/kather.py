"""Kather 2016 colorectal histology tiles (the CheckpointSequence paper's
data)."""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from mmpretrain.datasets import BaseDataset

from medkd.registry import DATASETS
from .image_check import verify_images
from .split import stratified_split

#: How Kather 2016 names a tile: ``<tile id>_<slide>_<image>.tif_Row_<r>_
#: Col_<c>.tif``, e.g. ``1A11_CRC-Prim-HE-07_022.tif_Row_601_Col_151.tif``
#: (slide ``CRC-Prim-HE-07``, image 022 of it, the tile at row 601, column
#: 151). The slide is the unit tiles are grouped by.
TILE_NAME = re.compile(
    r'^(?P<tile>[^_]+)_(?P<slide>.+)_(?P<image>[^_]+)\.tiff?'
    r'_Row_\d+_Col_\d+\.tiff?$', re.IGNORECASE)


def slide_of(name: str) -> Optional[str]:
    """The source slide in a Kather 2016 tile name (:data:`TILE_NAME`),
    or None."""
    found = TILE_NAME.match(name)
    return found.group('slide') if found else None


@DATASETS.register_module()
class Kather2016(BaseDataset):
    """Kather 2016: 5,000 colorectal histology tiles of 150×150 pixels, 625
    in each of 8 tissue classes.

    The tiles are read in the layout they are downloaded in::

        {data_root}/Kather_texture_2016_image_tiles_5000/
        ├── 01_TUMOR/*.tif
        ├── 02_STROMA/*.tif
        ...
        └── 08_EMPTY/*.tif

    The 8 class folders are searched for under ``data_root`` at any depth, so
    mirrors that nest ``Kather_texture_2016_image_tiles_5000`` twice, and a
    ``data_root`` pointing at that folder itself, work too. The label is the
    class folder. Splits: a seeded stratified ``1 - test_ratio`` /
    ``test_ratio`` train/test cut, then ``val_ratio`` of train (stratified)
    becomes val, **grouped by source slide**: every tile of a slide is in
    one split. The slide is read from the tile name (:data:`TILE_NAME`,
    ``<tile id>_<slide>_<image>.tif_Row_<r>_Col_<c>.tif``, e.g.
    ``1A11_CRC-Prim-HE-07_022.tif_Row_601_Col_151.tif`` is slide
    ``CRC-Prim-HE-07``); a name it cannot parse is an error naming the file.

    Each entry is ``dict(img_path, gt_label, patient_id)``, ``patient_id``
    the slide (None with ``group_by_slide=False``), so metrics resample
    slides.

    Warning:
        ``group_by_slide=False`` splits per tile: tiles of one slide then
        land in train *and* test, and test scores measure recognising a
        slide seen in training (its staining, its patient), not a new
        slide. Use it only to reproduce per-tile splits of earlier work
        (the CheckpointSequence paper's).

    Args:
        data_root (str): Folder that contains the 8 class folders, at any
            depth.
        split (str): ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
            Defaults to ``'train'``.
        seed (int): Seed of both cuts. Defaults to 0.
        test_ratio (float): Fraction of all tiles in test; 0 is allowed for
            the train and val splits. Defaults to 0.2.
        val_ratio (float): Fraction of the non-test tiles in val; 0 puts
            them all in train (and ``split='val'`` is refused).
            Defaults to 0.2.
        group_by_slide (bool): Keep every tile of a source slide in one
            split. Defaults to True.
        check_images (bool): Decode every tile of the split at start-up and
            name the unreadable ones. Defaults to False.
        pipeline (Sequence): Transforms applied to each entry.
            Defaults to ().
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``test_mode``, ``lazy_init``, ...).
    """

    METAINFO = {
        'classes': ('tumor', 'stroma', 'complex', 'lympho', 'debris', 'mucosa',
                    'adipose', 'empty')
    }
    CLASS_FOLDERS = ('01_TUMOR', '02_STROMA', '03_COMPLEX', '04_LYMPHO',
                     '05_DEBRIS', '06_MUCOSA', '07_ADIPOSE', '08_EMPTY')
    SPLITS = ('train', 'val', 'test', 'all')
    IMG_SUFFIXES = ('.tif', '.tiff')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 seed: int = 0,
                 test_ratio: float = 0.2,
                 val_ratio: float = 0.2,
                 group_by_slide: bool = True,
                 check_images: bool = False,
                 pipeline: Sequence = (),
                 **kwargs):
        if split not in self.SPLITS:
            raise ValueError(
                f'`split` must be one of {self.SPLITS}, got {split!r}.')
        for name, ratio in (('test_ratio', test_ratio), ('val_ratio',
                                                         val_ratio)):
            if not 0 <= ratio < 1:
                raise ValueError(f'`{name}` must be in [0, 1), got {ratio}.')
            if ratio == 0 and name == f'{split}_ratio':
                raise ValueError(f'`{name}=0` leaves split {split!r} empty.')
        self.split = split
        self.seed = seed
        self.test_ratio = test_ratio
        self.val_ratio = val_ratio
        self.group_by_slide = group_by_slide
        self.check_images = check_images
        super().__init__(
            ann_file='', data_root=data_root, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the entries of the chosen split."""
        data_list = []
        for label, class_dir in enumerate(self._find_class_dirs()):
            files = sorted(
                name for name in os.listdir(class_dir)
                if name.lower().endswith(self.IMG_SUFFIXES))
            if not files:
                raise FileNotFoundError(
                    f'Class folder {class_dir} holds no '
                    f'{"/".join(self.IMG_SUFFIXES)} tiles.')
            data_list.extend(
                dict(img_path=osp.join(class_dir, name), gt_label=label,
                     patient_id=slide_of(name) if self.group_by_slide
                     else None) for name in files)
        groups = None
        if self.group_by_slide:
            unnamed = [e['img_path'] for e in data_list
                       if e['patient_id'] is None]
            if unnamed:
                raise ValueError(
                    f'Kather 2016 tiles are grouped by source slide, read '
                    'from names like 1A11_CRC-Prim-HE-07_022.tif_Row_601_'
                    f'Col_151.tif (<tile id>_<slide>_<image>.tif_Row_<r>_'
                    f'Col_<c>.tif), but {len(unnamed)} tile names do not '
                    f'follow it, e.g. {unnamed[0]}. Keep the original names, '
                    'or set `group_by_slide=False` for a per-tile split '
                    "(one slide's tiles may then be in train and test).")
            groups = [e['patient_id'] for e in data_list]

        if self.split != 'all':
            labels = [entry['gt_label'] for entry in data_list]
            trainval, test = stratified_split(
                labels, (1 - self.test_ratio, self.test_ratio), self.seed,
                groups)
            if self.split == 'test':
                keep = test
            else:
                train, val = stratified_split(
                    [labels[i] for i in trainval],
                    (1 - self.val_ratio, self.val_ratio), self.seed,
                    None if groups is None else
                    [groups[i] for i in trainval])
                keep = trainval[train if self.split == 'train' else val]
            data_list = [data_list[i] for i in keep]

        if self.check_images:
            verify_images([entry['img_path'] for entry in data_list])
        return data_list

    def _find_class_dirs(self) -> List[str]:
        """Paths of the 8 class folders, in label order."""
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'Kather 2016 `data_root` {self.data_root} does not exist.')
        found: Dict[str, List[str]] = {}
        for dirpath, dirnames, _ in os.walk(self.data_root):
            for name in [d for d in dirnames if d in self.CLASS_FOLDERS]:
                found.setdefault(name, []).append(osp.join(dirpath, name))
                dirnames.remove(name)
            dirnames.sort()

        missing = [name for name in self.CLASS_FOLDERS if name not in found]
        if missing:
            raise FileNotFoundError(
                f'Kather 2016 class folder(s) {missing} not found under '
                f'{self.data_root}; found {sorted(found)} of the 8 '
                f'{list(self.CLASS_FOLDERS)}.')
        repeated = {
            name: paths
            for name, paths in found.items() if len(paths) > 1
        }
        if repeated:
            raise ValueError(
                f'Class folders found more than once under {self.data_root}: '
                f'{repeated}; point `data_root` at one copy.')
        return [found[name][0] for name in self.CLASS_FOLDERS]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Data root: \t{self.data_root}',
            f'Split: \t{self.split} (test {self.test_ratio}, val '
            f'{self.val_ratio} of the rest, seed {self.seed}, '
            f'{"by slide" if self.group_by_slide else "per tile"})',
        ]
