"""medkd: knowledge distillation for medical images, the OpenMMLab way."""
import warnings

from .utils.config import register_config_package
from .version import __version__

# mmcv-lite has no compiled ops; mmpretrain warns about one it never needs.
warnings.filterwarnings(
    'ignore', message='.*MultiScaleDeformableAttention.*')

# `medkd::<path>` config bases: an entry in mmengine's table of config
# packages (see medkd.utils.config, which resolves the files while it loads)
register_config_package()

__all__ = ['__version__']
