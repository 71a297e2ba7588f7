"""Attention transfer (Zagoruyko & Komodakis, ICLR 2017)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.registry import MODELS


@MODELS.register_module()
class ATLoss(nn.Module):
    """Attention transfer between two feature maps.

    Each map becomes a spatial attention map, the channel mean of its
    ``p``-th power, flattened and L2-normalised per sample; the loss is the
    mean squared difference of the two, as in the official code::

        Q(f) = normalize(mean_c |f_c|^p)        (N, H·W)
        L = w · mean((Q(f_s) - Q(f_t))^2)

    The channel counts may differ (the channels are averaged); a student
    map of another spatial size is resized bilinearly to the teacher's.

    Args:
        p (float): Power of the activations. Defaults to 2.
        loss_weight (float): Weight ``w``. Defaults to 1.0.
    """

    #: Compares maps with any channel counts (no connector needed).
    any_channels = True

    def __init__(self, p: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        self.p = p
        self.loss_weight = loss_weight

    def attention(self, feat: torch.Tensor) -> torch.Tensor:
        """``(N, H·W)`` L2-normalised attention map of ``(N, C, H, W)``."""
        return F.normalize(
            feat.abs().pow(self.p).mean(1).flatten(1), dim=1)

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        if student.shape[-2:] != teacher.shape[-2:]:
            student = F.interpolate(
                student, size=teacher.shape[-2:], mode='bilinear',
                align_corners=False)
        diff = self.attention(student) - self.attention(teacher.detach())
        return self.loss_weight * diff.pow(2).mean()
