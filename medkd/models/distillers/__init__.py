from .base import BaseDistiller, is_distiller, student_of
from .checkpoint_sequence import CheckpointSequence
from .gated_multi_teacher import GatedMultiTeacher
from .kd import VanillaKD
from .mm_mimo import MultiModalMIMO
from .teacher_assistant import TeacherAssistant

__all__ = [
    'BaseDistiller', 'CheckpointSequence', 'GatedMultiTeacher', 'VanillaKD',
    'TeacherAssistant', 'MultiModalMIMO', 'is_distiller',
    'student_of'
]
