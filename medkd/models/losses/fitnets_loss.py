"""FitNets hint loss (Romero et al., ICLR 2015)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.registry import MODELS


@MODELS.register_module()
class FitNetsLoss(nn.Module):
    """Mean squared error between a (connector-projected) student feature
    map and the teacher's: the FitNets "hint" loss.

    .. math::
        L = w \\cdot \\frac{1}{NCHW} \\sum (g(f^s) - f^t)^2

    The connector ``g`` (e.g. ``ConvConnector``) is configured on the
    feature pair; the maps must have the same shape.

    Args:
        loss_weight (float): Weight ``w``. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        if student.shape != teacher.shape:
            raise ValueError('FitNetsLoss needs maps of one shape, got '
                             f'student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)}; add a connector.')
        return self.loss_weight * F.mse_loss(student, teacher.detach())
