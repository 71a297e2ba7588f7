from typing import Sequence

import torch.nn as nn
from mmengine.model import BaseModule

from medkd.registry import MODELS


@MODELS.register_module()
class SimpleConvNet(BaseModule):
    """A plain stack of Conv-BN-ReLU-MaxPool blocks.

    The default is the teacher-assistant paper's student: Conv5×5-64,
    Conv3×3-64, Conv3×3-128, each followed by BN, ReLU and 2×2 max-pooling.
    Followed by ``GlobalAveragePooling`` and a linear head in configs.

    Args:
        in_channels (int): Input channels. Defaults to 3.
        channels (Sequence[int]): Output channels of each block.
            Defaults to (64, 64, 128).
        kernel_sizes (Sequence[int]): Kernel size of each block.
            Defaults to (5, 3, 3).
        out_indices (Sequence[int]): Blocks whose outputs are returned, as
            ``(N, C_i, H_i, W_i)`` maps. Defaults to (-1, ) (the last).
        init_cfg (dict | list, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: Sequence[int] = (64, 64, 128),
                 kernel_sizes: Sequence[int] = (5, 3, 3),
                 out_indices: Sequence[int] = (-1, ),
                 init_cfg=dict(type='Kaiming', layer='Conv2d')):
        super().__init__(init_cfg=init_cfg)
        if len(channels) != len(kernel_sizes):
            raise ValueError(
                f'channels {tuple(channels)} and kernel_sizes '
                f'{tuple(kernel_sizes)} must have the same length')
        self.out_indices = [i % len(channels) for i in out_indices]
        blocks = []
        for out_channels, k in zip(channels, kernel_sizes):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, k, padding=k // 2,
                              bias=False), nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True), nn.MaxPool2d(2)))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
