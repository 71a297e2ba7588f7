"""The frozen teacher component every distiller holds its teachers in."""
from .frozen_teacher import FrozenTeacher, build_teacher, teacher_model_config
from .route_manifest import MANIFEST, read_manifest, write_manifest
from .route_teacher import RouteTeacher, resolve_route

__all__ = [
    'FrozenTeacher', 'RouteTeacher', 'build_teacher', 'teacher_model_config',
    'resolve_route',
    'MANIFEST', 'read_manifest', 'write_manifest'
]
