"""medkd: knowledge distillation for medical images, the OpenMMLab way."""
import warnings

from .version import __version__

# mmcv-lite has no compiled ops; mmpretrain warns about one it never needs.
warnings.filterwarnings(
    'ignore', message='.*MultiScaleDeformableAttention.*')

__all__ = ['__version__']
