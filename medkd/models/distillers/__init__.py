from .base import BaseDistiller
from .gated_multi_teacher import GatedMultiTeacher
from .kd import VanillaKD

__all__ = ['BaseDistiller', 'GatedMultiTeacher', 'VanillaKD']
