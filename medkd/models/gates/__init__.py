from .baseline_gates import CAMKDGate, MeanGate
from .image_gate import ConfidenceGate, ImageGate

__all__ = ['CAMKDGate', 'ConfidenceGate', 'ImageGate', 'MeanGate']
