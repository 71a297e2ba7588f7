from .formatting import MEDKD_META_KEYS, PackInputs
from .multimodal import (LoadMultiModalImages, MultiModalApply,
                         PackMultiModalInputs)

__all__ = [
    'MEDKD_META_KEYS', 'PackInputs', 'LoadMultiModalImages', 'MultiModalApply', 'PackMultiModalInputs'
]
