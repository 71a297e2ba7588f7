"""Soft-label distillation losses between a student and a teacher."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.registry import MODELS


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == 'batchmean':
        return per_sample.mean()
    if reduction == 'sum':
        return per_sample.sum()
    if reduction == 'none':
        return per_sample
    raise ValueError(f'reduction must be "batchmean", "sum" or "none", '
                     f'got "{reduction}"')


@MODELS.register_module()
class KDLoss(nn.Module):
    """Hinton's distillation loss for softmax heads.

    .. math::
        L = w \\cdot T^2 \\cdot \\mathrm{KL}(\\mathrm{softmax}(z_t / T)
            \\,\\|\\, \\mathrm{softmax}(z_s / T))

    summed over classes; ``'batchmean'`` averages over the batch (never over
    the classes too).

    Args:
        temperature (float): Softmax temperature ``T``. Defaults to 1.0.
        loss_weight (float): Weight ``w``. Defaults to 1.0.
        reduction (str): ``'batchmean'`` (default), ``'sum'`` or ``'none'``
            (per-sample losses of shape ``(N,)``).
    """

    def __init__(self,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'batchmean'):
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self,
                student_logits: torch.Tensor,
                teacher: torch.Tensor,
                teacher_is_prob: bool = False) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(N, C)`` student logits.
            teacher (Tensor): ``(N, C)`` teacher logits, or, with
                ``teacher_is_prob=True``, teacher probabilities that were
                already softened at temperature ``T`` (e.g. a gated mixture).
            teacher_is_prob (bool): Whether ``teacher`` holds probabilities.
        """
        T = self.temperature
        log_p_student = F.log_softmax(student_logits / T, dim=1)
        p_teacher = teacher if teacher_is_prob else F.softmax(
            teacher / T, dim=1)
        kl = F.kl_div(log_p_student, p_teacher, reduction='none').sum(dim=1)
        return self.loss_weight * T**2 * _reduce(kl, self.reduction)


@MODELS.register_module()
class SoftBCELoss(nn.Module):
    """Soft-label loss for sigmoid heads (binary with one logit, multi-label).

    .. math::
        L = w \\cdot [T^2] \\cdot \\sum_{l} \\mathrm{BCE}(\\sigma(z_{s,l} / T),
            \\sigma(z_{t,l} / T))

    summed over labels (entries with ``mask == 0`` excluded); ``'batchmean'``
    averages over the batch, as mmpretrain's BCE head loss does.

    Args:
        temperature (float): Temperature ``T``. Defaults to 1.0.
        loss_weight (float): Weight ``w``. Defaults to 1.0.
        scale_by_t2 (bool): Multiply by ``T²``. Defaults to False (the
            teacher-assistant paper's choice).
        reduction (str): ``'batchmean'`` (default), ``'sum'`` or ``'none'``.
    """

    def __init__(self,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0,
                 scale_by_t2: bool = False,
                 reduction: str = 'batchmean'):
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.scale_by_t2 = scale_by_t2
        self.reduction = reduction

    def forward(self,
                student_logits: torch.Tensor,
                teacher: torch.Tensor,
                teacher_is_prob: bool = False,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(N, L)`` student logits.
            teacher (Tensor): ``(N, L)`` teacher logits, or probabilities
                ``σ(z_t / T)`` with ``teacher_is_prob=True``.
            teacher_is_prob (bool): Whether ``teacher`` holds probabilities.
            mask (Tensor, optional): ``(N, L)``; entries with 0 are ignored.
        """
        T = self.temperature
        target = teacher if teacher_is_prob else torch.sigmoid(teacher / T)
        bce = F.binary_cross_entropy_with_logits(
            student_logits / T, target, reduction='none')
        if mask is not None:
            bce = bce * mask
        scale = T**2 if self.scale_by_t2 else 1.0
        return self.loss_weight * scale * _reduce(bce.sum(dim=1),
                                                  self.reduction)
