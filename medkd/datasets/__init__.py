"""Datasets read in the papers' real on-disk layouts, plus medkd's synthetic data."""
from .cnmc import CNMC2019
from .image_check import verify_images
from .kather import Kather2016
from .split import stratified_kfold, stratified_split
from .synthetic import SyntheticCells, generate_synthetic_cells

__all__ = [
    'CNMC2019', 'Kather2016', 'stratified_split', 'stratified_kfold',
    'verify_images', 'SyntheticCells', 'generate_synthetic_cells'
]
