from .shufflenet_v2_multi import ShuffleNetV2MultiInput
from .simple_convnet import SimpleConvNet

__all__ = ['SimpleConvNet', 'ShuffleNetV2MultiInput']
