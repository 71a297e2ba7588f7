"""Datasets in the papers' on-disk layouts, plus medkd's synthetic data."""
from .chexpert import CheXpert
from .cnmc import CNMC2019
from .image_check import verify_images
from .kather import Kather2016
from .medmnist import MedMNIST
from .mimo_dataset import MIMODataset, MIMOSampler
from .replay import AugmentationReplayDataset, ReplaySampler
from .multimodal_cells import MultiModalCells, SyntheticMultiModalCells
from .samplers import ClassBalancedSampler
from .split import stratified_kfold, stratified_split
from .synthetic import (SyntheticCells, generate_synthetic_cells,
                        synthetic_tree_dir)
from .transforms import *  # noqa: F401,F403

__all__ = [
    'MedMNIST',
    'AugmentationReplayDataset', 'ReplaySampler',
    'CheXpert', 'ClassBalancedSampler',
    'CNMC2019', 'Kather2016', 'stratified_split', 'stratified_kfold',
    'verify_images', 'SyntheticCells', 'generate_synthetic_cells',
    'synthetic_tree_dir',
    'MIMODataset', 'MIMOSampler', 'MultiModalCells', 'SyntheticMultiModalCells'
]
