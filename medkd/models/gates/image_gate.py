import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from medkd.registry import MODELS


@MODELS.register_module()
class ImageGate(BaseModule):
    """A small CNN that weighs K teachers per sample from the raw image.

    Layout of the gated multi-teacher paper's notebook:
    Conv3×3(32)-ReLU-MaxPool2 → Conv3×3(64)-ReLU-MaxPool2 → GAP → FC(32)-ReLU
    → FC(K) → softmax(· / temperature).

    Args:
        num_teachers (int): K, the number of teachers (outputs).
        in_channels (int): Image channels. Defaults to 3.
        channels (Sequence[int]): Conv widths. Defaults to (32, 64).
        hidden (int): Width of the hidden FC layer. Defaults to 32.
        resize_input (int | tuple, optional): Resize the image to this size
            before the gate sees it (a cheaper gate; the key teachers use
            for the same thing). Defaults to None.
        temperature (float): Softmax temperature of the gate. Defaults to 1.
        head_kind (str): ``'softmax'`` or ``'multi_label'``, how the
            teachers' probabilities read (filled in by
            :class:`~medkd.models.distillers.GatedMultiTeacher` from the
            student's head). Defaults to ``'softmax'``.
        init_cfg (dict, optional): Initialisation config.
    """

    #: Whether the weights depend on the teachers' outputs (if not, a
    #: distiller's predictions need not run the teachers).
    uses_teacher_outputs = False

    HEAD_KINDS = ('softmax', 'multi_label')

    def __init__(self,
                 num_teachers: int,
                 in_channels: int = 3,
                 channels: Sequence[int] = (32, 64),
                 hidden: int = 32,
                 resize_input=None,
                 temperature: float = 1.0,
                 head_kind: str = 'softmax',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if head_kind not in self.HEAD_KINDS:
            raise ValueError(f'gate head_kind must be one of '
                             f'{self.HEAD_KINDS}, got {head_kind!r}')
        self.head_kind = head_kind
        if num_teachers < 2:
            raise ValueError(f'a gate needs num_teachers >= 2, '
                             f'got {num_teachers}')
        self.num_teachers = num_teachers
        self.resize_input = (resize_input, resize_input) if isinstance(
            resize_input, int) else resize_input
        self.temperature = temperature
        layers = []
        for width in channels:
            layers += [
                nn.Conv2d(in_channels, width, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2)
            ]
            in_channels = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.fc = nn.Sequential(
            nn.Linear(in_channels + self.extra_features, hidden),
            nn.ReLU(inplace=True), nn.Linear(hidden, num_teachers))

    @property
    def extra_features(self) -> int:
        """Inputs to the FC layers besides the image features."""
        return 0

    def image_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.resize_input is not None and tuple(
                x.shape[-2:]) != tuple(self.resize_input):
            x = F.interpolate(x, size=self.resize_input, mode='bilinear',
                              align_corners=False)
        return self.features(x)

    def forward(self,
                x: torch.Tensor,
                teacher_probs: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Gate weights (the call every gate takes, see
        :mod:`medkd.models.gates.baseline_gates`).

        Args:
            x (Tensor): ``(N, C, H, W)`` normalised images.
            teacher_probs (Tensor, optional): ``(N, K, C)`` teacher
                probabilities; unused by this gate.
            labels (Tensor, optional): ``(N,)`` class indices; unused.

        Returns:
            Tensor: ``(N, K)`` weights, each row sums to 1.
        """
        logits = self.fc(self.image_features(x))
        return F.softmax(logits / self.temperature, dim=1)


@MODELS.register_module()
class ConfidenceGate(ImageGate):
    """An :class:`ImageGate` that also sees how sure each teacher is.

    The FC layers get, besides the image features, each teacher's maximum
    probability and normalised entropy (``2K`` extra inputs), so the gate can
    prefer the confident teacher for each sample.

    Args: see :class:`ImageGate`.
    """

    uses_teacher_outputs = True

    @property
    def extra_features(self) -> int:
        return 2 * self.num_teachers

    def confidence_features(self, teacher_probs: torch.Tensor):
        """``(N, K)`` confidence and normalised entropy (in ``[0, 1]``) of
        each teacher.

        Softmax heads: the top-class probability and the entropy over the C
        classes divided by ``log C``. Multi-label heads: each label is a
        binary prediction, so the mean over labels of ``max(p, 1 - p)`` and
        of the binary entropy divided by ``log 2``.
        """
        p = teacher_probs.clamp(1e-12, 1 - 1e-12)
        if self.head_kind == 'multi_label':
            entropy = -(p * p.log() + (1 - p) * (1 - p).log()) / math.log(2)
            return torch.maximum(p, 1 - p).mean(-1), entropy.mean(-1)
        num_classes = p.size(-1)
        if num_classes < 2:
            raise ValueError('ConfidenceGate needs at least 2 classes for a '
                             'softmax head.')
        entropy = -(p * p.log()).sum(-1) / math.log(num_classes)
        return p.max(-1).values, entropy

    def forward(self,
                x: torch.Tensor,
                teacher_probs: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if teacher_probs is None:
            raise ValueError('ConfidenceGate needs the teachers\' '
                             'probabilities (N, K, C)')
        confidence = torch.cat(self.confidence_features(teacher_probs),
                               dim=1)
        logits = self.fc(
            torch.cat([self.image_features(x), confidence], dim=1))
        return F.softmax(logits / self.temperature, dim=1)
