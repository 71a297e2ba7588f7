import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from medkd.registry import DATA_SAMPLERS, DATASETS
from test_multimodal_cells import MODALITIES, write_cells

PIPELINE = [
    dict(type='LoadMultiModalImages', color_type=dict(color1='grayscale')),
    dict(type='PackMultiModalInputs')
]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('mimo_cells')
    write_cells(root, num_per_class=4)  # 20 cells, 5 classes
    return root


def mimo(root):
    return DATASETS.build(
        dict(
            type='MIMODataset',
            dataset=dict(
                type='MultiModalCells',
                data_root=str(root),
                modalities=MODALITIES,
                num_folds=None,
                serialize_data=False,
                pipeline=PIPELINE)))


def sampler(dataset, **kwargs):
    kwargs.setdefault('seed', 0)
    return DATA_SAMPLERS.build(
        dict(type='MIMOSampler', dataset=dataset, **kwargs))


def batches(dataset, mimo_sampler):
    return list(
        DataLoader(
            dataset,
            batch_size=8,
            sampler=mimo_sampler,
            collate_fn=pseudo_collate))


def slot_labels(batch):
    return torch.stack([s.slot_labels for s in batch['data_samples']])


def test_rho_0_slots_hold_independent_cells_with_their_labels(root):
    dataset = mimo(root)
    loaded = batches(dataset, sampler(dataset, rho=0.0))
    labels = torch.cat([slot_labels(b) for b in loaded])
    assert labels.shape == (20, 2)
    assert (labels[:, 0] != labels[:, 1]).sum() >= 8  # 4/5 expected
    for batch in loaded:
        assert (slot_labels(batch)[:, 0] != slot_labels(batch)[:, 1]).any()
        for sample, inputs in zip(batch['data_samples'], batch['inputs']):
            first, second = sample.sample_idx
            # Pixel values encode the cell index (write_cells): slot m holds
            # modality m of cell sample_idx[m], and gt_label is slot 0's.
            assert inputs[0, 0, 0] == first % 10
            assert inputs[3, 0, 0] == 10 + second % 10
            assert sample.slot_labels.tolist() == [first // 4, second // 4]
            assert sample.gt_label.tolist() == [first // 4]
    # Every cell appears exactly once per slot and epoch.
    slots = sampler(dataset).epoch_slots(0)
    for m in range(2):
        assert sorted(slots[:, m]) == list(range(20))


def test_rho_1_puts_one_cell_in_every_slot(root):
    dataset = mimo(root)
    for batch in batches(dataset, sampler(dataset, rho=1.0)):
        labels = slot_labels(batch)
        assert torch.equal(labels[:, 0], labels[:, 1])
        for sample in batch['data_samples']:
            assert len(set(sample.sample_idx)) == 1


def test_rho_between_0_and_1_shares_that_fraction():

    class Fake:
        num_slots = 4

        def __len__(self):
            return 2000

    slots = sampler(Fake(), rho=0.3).epoch_slots(0)
    shared = (slots == slots[:, :1]).all(axis=1).mean()
    assert 0.25 < shared < 0.35


def test_deterministic_per_seed_and_epoch_and_split_across_ranks(root):
    dataset = mimo(root)
    a, b = sampler(dataset, seed=1), sampler(dataset, seed=1)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(sampler(dataset, seed=2)) != list(a)
    # Two ranks take disjoint halves of the same epoch list.
    ranks = []
    for rank in range(2):
        s = sampler(dataset, seed=1)
        s.rank, s.world_size = rank, 2
        s.num_samples, s.total_size = 10, 20
        ranks.append(list(s))
    full = [tuple(r) for r in a.epoch_slots(0)]
    assert sorted(ranks[0] + ranks[1]) == sorted(full)
    assert not set(ranks[0]) & set(ranks[1])


def test_repeats_make_longer_epochs_with_new_partners(root):
    dataset = mimo(root)
    s = sampler(dataset, repeats=3)
    slots = s.epoch_slots(0)
    assert len(s) == 60 and slots.shape == (60, 2)
    for m in range(2):
        assert np.bincount(slots[:, m]).tolist() == [3] * 20
    assert not np.array_equal(slots[:20], slots[20:40])


def test_int_index_and_wrong_sampler_are_refused(root):
    dataset = mimo(root)
    with pytest.raises(TypeError, match='MIMOSampler'):
        dataset[0]
    with pytest.raises(TypeError, match='MIMODataset'):
        sampler(dataset.dataset)
    assert dataset.metainfo['modalities'] == MODALITIES
    assert dataset.num_slots == 2 and len(dataset) == 20
