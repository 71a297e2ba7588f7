"""Connectors: map a lower model's feature maps onto an upper model's."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from medkd.registry import MODELS


@MODELS.register_module()
class ConvConnector(BaseModule):
    """A 1×1 convolution followed by bilinear resizing.

    Turns the student's ``(N, C_in, H, W)`` map into ``(N, C_out, H', W')``,
    the shape of the teacher's map it is compared with. Trained with the
    student (a submodule of the distiller, never of a frozen teacher).

    Args:
        in_channels (int): Channels ``C_in`` of the student's map.
        out_channels (int): Channels ``C_out`` of the teacher's map.
        init_cfg (dict | list, optional): Initialisation config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self,
                x: torch.Tensor,
                size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Project ``x`` and resize it to ``size`` = ``(H', W')``."""
        x = self.conv(x)
        if size is not None and tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(
                x, size=tuple(size), mode='bilinear', align_corners=False)
        return x
