from .baseline_gates import BestTeacherGate, CAMKDGate, MeanGate
from .declarations import gate_uses_teacher_outputs
from .image_gate import ConfidenceGate, ImageGate

__all__ = [
    'BestTeacherGate', 'CAMKDGate', 'ConfidenceGate', 'ImageGate', 'MeanGate',
    'gate_uses_teacher_outputs'
]
