from .baseline_gates import CAMKDGate, MeanGate
from .declarations import gate_uses_teacher_outputs
from .image_gate import ConfidenceGate, ImageGate

__all__ = [
    'CAMKDGate', 'ConfidenceGate', 'ImageGate', 'MeanGate',
    'gate_uses_teacher_outputs'
]
