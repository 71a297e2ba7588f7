from .route_manifest import MANIFEST, read_manifest

__all__ = ['MANIFEST', 'read_manifest']
