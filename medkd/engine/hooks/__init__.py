from .atomic_checkpoint import AtomicCheckpointHook
from .calibration import CalibrationHook
from .class_count_check import ClassCountCheckHook
from .nonfinite_loss import NonFiniteLossHook
from .preemption import PreemptionHook
from .safe_checkpoint import SafeCheckpointHook
from .stop_distill import StopDistillHook
from .teacher_cache import TeacherCacheHook
from .teacher_files import TeacherFileChangedError, TeacherFilesHook
from .teacher_route_saver import TeacherRouteSaverHook
from .teacher_switch import TeacherSwitchHook
from .teacher_validation import TeacherValidationHook

__all__ = [
    'AtomicCheckpointHook', 'CalibrationHook', 'ClassCountCheckHook', 'NonFiniteLossHook',
    'PreemptionHook',
    'SafeCheckpointHook', 'StopDistillHook', 'TeacherCacheHook',
    'TeacherFileChangedError', 'TeacherFilesHook', 'TeacherRouteSaverHook',
    'TeacherSwitchHook', 'TeacherValidationHook'
]
