"""Class-balanced sampling (the COVID case study's over- / under-sampling)."""
import math
from collections import Counter
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from medkd.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draw samples with replacement so that every class is equally likely.

    Sample ``i`` of class ``c`` has weight ``1 / n_c`` (``n_c`` the number
    of samples of class ``c``), so each epoch shows every class about
    ``num_samples / C`` times: rare classes are oversampled and frequent
    ones undersampled. The class of a sample is ``dataset.get_cat_ids(i)``;
    a multi-label sample counts in its rarest label, and samples without
    any label form one group of their own.

    Distributed like mmengine's ``DefaultSampler``: every rank draws the
    same ``total_size`` indices from a generator seeded with
    ``seed + epoch`` and keeps every ``world_size``-th one from its rank, so
    the ranks' shards are disjoint parts of one draw. ``set_epoch`` (called
    by ``DistSamplerSeedHook``) gives a new draw each epoch.

    Args:
        dataset (Sized): A dataset with ``get_cat_ids(idx)``.
        num_samples (int, optional): Samples drawn per epoch over all ranks.
            Defaults to None: ``len(dataset)``.
        seed (int, optional): Random seed shared by the ranks. Defaults to
            None: a random seed synchronised across ranks.
        round_up (bool): Pad the draw so every rank gets
            ``ceil(num_samples / world_size)`` samples (otherwise the last
            ranks may get one fewer). Defaults to True.
    """

    def __init__(self,
                 dataset: Sized,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None,
                 round_up: bool = True):
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.round_up = round_up
        self.weights = self._sample_weights(dataset)
        total = len(dataset) if num_samples is None else int(num_samples)
        if total <= 0:
            raise ValueError(f'num_samples must be positive, got {total}')
        if round_up:
            self.num_samples = math.ceil(total / world_size)
            self.total_size = self.num_samples * world_size
        else:
            self.num_samples = math.ceil((total - rank) / world_size)
            self.total_size = total

    @staticmethod
    def _sample_weights(dataset: Sized) -> torch.Tensor:
        """``(len(dataset), )`` weights ``1 / n_c`` of each sample's class."""
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        if not hasattr(dataset, 'get_cat_ids'):
            raise TypeError('ClassBalancedSampler needs a dataset with '
                            f'get_cat_ids(idx), got {type(dataset).__name__}')
        cat_ids: List[tuple] = [
            tuple(int(c) for c in dataset.get_cat_ids(i))
            for i in range(len(dataset))
        ]
        if not cat_ids:
            raise ValueError('ClassBalancedSampler got an empty dataset.')
        counts = Counter(c for ids in cat_ids for c in ids)
        groups = [min(ids, key=lambda c: counts[c]) if ids else None
                  for ids in cat_ids]
        sizes = Counter(groups)
        return torch.tensor([1.0 / sizes[g] for g in groups],
                            dtype=torch.float64)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        indices = torch.multinomial(
            self.weights, self.total_size, replacement=True,
            generator=generator).tolist()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the draw of ``epoch`` (the same on every rank)."""
        self.epoch = epoch
