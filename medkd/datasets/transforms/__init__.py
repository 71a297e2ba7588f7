from .multimodal import (LoadMultiModalImages, MultiModalApply,
                         PackMultiModalInputs)

__all__ = [
    'LoadMultiModalImages', 'MultiModalApply', 'PackMultiModalInputs'
]
