"""Augmentation replay: view v of sample i is the same image every time.

A frozen teacher's output on an augmented image can be cached only if the
same augmented image comes back. :class:`AugmentationReplayDataset` gives
each (sample, view) pair its own fixed random seed for the pipeline, and
:class:`ReplaySampler` draws one of the ``V`` views of every sample per epoch,
so training still sees fresh augmentations while the teachers' outputs for
all ``N × V`` images can be computed once (:mod:`medkd.engine.teacher_cache`).
"""
import random
from typing import List, Optional, Union

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from medkd.registry import DATA_SAMPLERS, DATASETS


def view_seed(seed: int, index: int, view: int) -> int:
    """The pipeline seed of view ``view`` of sample ``index``."""
    return (seed * 1_000_003 + index * 9_176 + view * 31) % (2**31)


@DATASETS.register_module()
class AugmentationReplayDataset:
    """Wrap a dataset so each (sample, view) is augmented reproducibly.

    ``len()`` is the number of samples ``N``; items are addressed by the
    flat index ``i * num_views + v`` (what :class:`ReplaySampler` yields).
    Before the pipeline runs on view ``v`` of sample ``i`` the Python, numpy
    and torch CPU random generators are seeded with :func:`view_seed` (and
    restored afterwards); CUDA generators are not touched. The packed ``DataSample`` carries ``cache_index``
    (the flat index) in its metainfo.

    Args:
        dataset (dict | BaseDataset): The dataset (or its config).
        num_views (int): ``V``, augmented views per sample. Defaults to 4.
        seed (int): Base seed of the views. Defaults to 0.
    """

    def __init__(self,
                 dataset: Union[dict, object],
                 num_views: int = 4,
                 seed: int = 0):
        if num_views < 1:
            raise ValueError(f'num_views must be >= 1, got {num_views}')
        self.dataset = DATASETS.build(dataset) if isinstance(
            dataset, dict) else dataset
        self.num_views = num_views
        self.seed = seed

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def num_items(self) -> int:
        """``N × V``: every (sample, view) pair."""
        return len(self.dataset) * self.num_views

    def __getitem__(self, flat_index: int):
        index, view = divmod(int(flat_index), self.num_views)
        if not 0 <= index < len(self.dataset):
            raise IndexError(f'flat index {flat_index} is outside the '
                             f'{self.num_items} (sample, view) pairs')
        states = random.getstate(), np.random.get_state()
        seed = view_seed(self.seed, index, view)
        # the pipeline runs on the CPU: only the CPU generator is seeded
        # (torch.manual_seed would also reseed every CUDA generator, whose
        # state the training's dropout then lost)
        with torch.random.fork_rng(devices=[]):
            random.seed(seed)
            np.random.seed(seed)
            torch.random.default_generator.manual_seed(seed)
            try:
                item = self.dataset[index]
            finally:
                random.setstate(states[0])
                np.random.set_state(states[1])
        item['data_samples'].set_metainfo(dict(cache_index=int(flat_index)))
        return item


@DATA_SAMPLERS.register_module()
class ReplaySampler(DefaultSampler):
    """:class:`DefaultSampler` over samples that also picks a view each.

    Yields flat indices ``i * V + v`` of an
    :class:`AugmentationReplayDataset`; ``v`` is drawn per sample and epoch
    from ``seed + epoch``, the same on every rank. Same arguments as
    :class:`mmengine.dataset.DefaultSampler`.
    """

    def __init__(self, dataset, shuffle: bool = True,
                 seed: Optional[int] = None, round_up: bool = True):
        if not isinstance(dataset, AugmentationReplayDataset):
            raise TypeError('ReplaySampler needs an AugmentationReplayDataset'
                            f', got {type(dataset).__name__}')
        super().__init__(dataset, shuffle=shuffle, seed=seed,
                         round_up=round_up)

    def views_at(self, epoch: int) -> List[int]:
        """The view drawn for every sample in ``epoch`` (0-based), the same
        on every rank: what :meth:`__iter__` yields in that epoch."""
        generator = torch.Generator().manual_seed(self.seed + epoch + 7_919)
        return torch.randint(self.dataset.num_views, (len(self.dataset), ),
                             generator=generator).tolist()

    def __iter__(self):
        views = self.views_at(self.epoch)
        for index in super().__iter__():
            yield index * self.dataset.num_views + views[index]
