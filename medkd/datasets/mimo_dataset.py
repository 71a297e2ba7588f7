"""MIMO training samples: slot m holds modality m of an independent cell.

MM-MIMO (seed 002) trains one network with M inputs and M heads. A training
sample concatenates modality 1 of cell a, modality 2 of cell b, ... so each
head can only learn from its own slot; at test time every slot holds the
same cell (the plain dataset, no wrapper).

:class:`MIMOSampler` decides which cells fill the slots (in the main
process, per epoch, identically on every rank) and yields index tuples;
:class:`MIMODataset` turns an index tuple into one sample.
"""
import copy
import math
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import force_full_init
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Dataset, Sampler

from medkd.registry import DATA_SAMPLERS, DATASETS


@DATASETS.register_module()
class MIMODataset(Dataset):
    """Compose MIMO samples from a multimodal dataset.

    ``dataset[(c_0, ..., c_{M-1})]`` is a sample whose slot ``m`` holds
    modality ``m`` of cell ``c_m``: ``img_paths[m]`` from cell ``c_m``,
    ``slot_labels[m]`` its label, ``slot_ids`` the cells' ids,
    ``gt_label`` the label of slot 0. It then runs the wrapped dataset's
    pipeline (which must end with ``PackMultiModalInputs``). The index tuples
    come from :class:`MIMOSampler`; an int index is refused, because
    ``DefaultSampler`` would silently put one cell in every slot.

    Args:
        dataset (dict | Dataset): A multimodal dataset (e.g.
            ``MultiModalCells``) or its config.
        **dataset_overrides: Update the wrapped dataset's config (so tools
            that set ``train_dataloader.dataset.data_root`` or ``pipeline``
            keep working through the wrapper).
    """

    def __init__(self, dataset, **dataset_overrides):
        if isinstance(dataset, dict):
            dataset = DATASETS.build({**dataset, **dataset_overrides})
        elif dataset_overrides:
            raise TypeError('MIMODataset got a built dataset and overrides '
                            f'{sorted(dataset_overrides)}; pass a config.')
        self.dataset = dataset
        self._fully_initialized = False
        self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    @property
    def pipeline(self):
        return self.dataset.pipeline

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        self.dataset.full_init()
        modalities = self.dataset.get_data_info(0).get('modalities')
        if modalities is None:
            raise TypeError(
                f'MIMODataset wraps {type(self.dataset).__name__}, whose '
                'samples have no "modalities"; use a multimodal dataset '
                '(MultiModalCells).')
        self.num_slots = len(modalities)
        self._fully_initialized = True

    @force_full_init
    def __len__(self) -> int:
        return len(self.dataset)

    @force_full_init
    def get_data_info(self, slots: Sequence[int]) -> dict:
        """The data info of the sample whose slot m holds cell ``slots[m]``."""
        if isinstance(slots, (int, np.integer)):
            raise TypeError(
                'MIMODataset takes a tuple of cell indices (one per slot) '
                "from MIMOSampler; set train_dataloader.sampler.type="
                "'MIMOSampler'.")
        if len(slots) != self.num_slots:
            raise ValueError(f'MIMODataset expected {self.num_slots} slot '
                             f'indices, got {tuple(slots)}.')
        infos = [self.dataset.get_data_info(int(i)) for i in slots]
        info = copy.deepcopy(infos[0])
        info['img_paths'] = [d['img_paths'][m] for m, d in enumerate(infos)]
        info['slot_labels'] = [int(d['gt_label']) for d in infos]
        info['slot_ids'] = [d.get('sample_id') for d in infos]
        info['sample_idx'] = tuple(int(i) for i in slots)
        return info

    def __getitem__(self, slots: Sequence[int]) -> dict:
        data = self.pipeline(self.get_data_info(slots))
        if data is None:
            raise RuntimeError(
                f'The pipeline dropped the MIMO sample {tuple(slots)}.')
        return data


@DATA_SAMPLERS.register_module()
class MIMOSampler(Sampler):
    """Draw the cells of every MIMO slot, per epoch, identically on all ranks.

    Each epoch and repetition ``r`` draws ``M`` independent permutations of
    the N cells; sample ``i`` gets cell ``perm_m[i]`` in slot ``m``, so every
    cell appears once per slot and repetition with a random partner. With
    probability ``rho`` a sample instead puts ``perm_0[i]`` in every slot
    (the MIMO paper's input repetition). ``repeats`` repetitions make an
    epoch of ``N * repeats`` samples (each cell ``repeats`` times per slot,
    with new partners). Everything derives from ``(seed, epoch)``, so runs
    are reproducible and all ranks agree before taking their share
    (``rank::world_size``, rounded up like ``DefaultSampler``).

    Args:
        dataset (MIMODataset): The wrapped dataset (gives N and M).
        rho (float): Probability that all slots share one cell.
            Defaults to 0.
        repeats (int): Repetitions of the dataset per epoch. Defaults to 1.
        shuffle (bool): Shuffle the order of slot 0's cells. With False
            slot 0 goes through the cells in order (the other slots are
            still random). Defaults to True.
        seed (int, optional): Random seed, the same on every rank.
            Defaults to None (a synchronised random seed).
        round_up (bool): Pad so every rank gets the same number of samples.
            Defaults to True.
    """

    def __init__(self,
                 dataset: MIMODataset,
                 rho: float = 0.0,
                 repeats: int = 1,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True):
        if not hasattr(dataset, 'num_slots'):
            raise TypeError('MIMOSampler needs a MIMODataset as '
                            f'train_dataloader.dataset, got {type(dataset)}')
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f'rho must be in [0, 1], got {rho}')
        if not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f'repeats must be an int >= 1, got {repeats!r}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.rho = rho
        self.repeats = repeats
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.epoch = 0
        total = len(dataset) * repeats
        if round_up:
            self.num_samples = math.ceil(total / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((total - self.rank) / self.world_size)
            self.total_size = total

    def epoch_slots(self, epoch: int) -> np.ndarray:
        """``(N * repeats, M)`` cell indices of every slot for ``epoch``."""
        n, num_slots = len(self.dataset), self.dataset.num_slots
        parts = []
        for r in range(self.repeats):
            rng = np.random.default_rng([self.seed, epoch, r])
            first = rng.permutation(n) if self.shuffle else np.arange(n)
            slots = [first
                     ] + [rng.permutation(n) for _ in range(num_slots - 1)]
            slots = np.stack(slots, axis=1)
            shared = rng.random(n) < self.rho
            slots[shared] = slots[shared, :1]
            parts.append(slots)
        return np.concatenate(parts)

    def __iter__(self) -> Iterator[Tuple[int, ...]]:
        slots = [
            tuple(int(i) for i in row) for row in self.epoch_slots(self.epoch)
        ]
        if self.round_up:
            slots = (slots *
                     math.ceil(self.total_size / len(slots)))[:self.total_size]
        return iter(slots[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Called by ``DistSamplerSeedHook`` before every epoch."""
        self.epoch = epoch
