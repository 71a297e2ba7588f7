"""ShuffleNetV2 whose stem takes any number of input channels."""
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones import ShuffleNetV2

from medkd.registry import MODELS


@MODELS.register_module()
class ShuffleNetV2MultiInput(ShuffleNetV2):
    """mmpretrain's ShuffleNetV2 with a stem convolution on ``in_channels``.

    mmpretrain's ShuffleNetV2 hard-codes a 3-channel stem; early fusion and
    MM-MIMO feed the concatenated modalities (e.g. 4 × 3 = 12 channels), so
    only the first 3×3 convolution is widened (+216 parameters per extra
    channel, as in the paper's 1.259M → 1.261M).

    Args:
        in_channels (int): Channels of the input image. Defaults to 3.
        **kwargs: Arguments of :class:`mmpretrain.models.ShuffleNetV2`
            (``widen_factor``, ``out_indices``, ``norm_cfg`` ...).
    """

    def __init__(self, in_channels: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.input_channels = in_channels
        stem = self.conv1
        self.conv1 = ConvModule(
            in_channels=in_channels,
            out_channels=stem.conv.out_channels,
            kernel_size=3,
            stride=2,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
