"""Soft-label distillation losses between a student and a teacher.

Every soft-label loss of medkd (:class:`KDLoss`, :class:`SoftBCELoss`,
:class:`~medkd.models.losses.LogitStdKDLoss`,
:class:`~medkd.models.losses.DKDLoss`, :class:`~medkd.models.losses.DISTLoss`)
derives from :class:`SoftLabelLoss` and is called the same way::

    loss(student_logits, teacher_logits, labels=None, teacher_is_prob=False,
         mask=None)

A distiller whose teacher is a mixture (``GatedMultiTeacher`` mixes the
teachers' probabilities) turns each teacher's logits into the loss's own
target distribution with :meth:`SoftLabelLoss.soften` (e.g. standardised,
then ``softmax(· / T)`` for ``LogitStdKDLoss``), mixes those, and passes the
mixture with ``teacher_is_prob=True``. A distiller that weighs one loss per
teacher instead (``GatedMultiTeacher(teacher_mixing='losses')``) calls
:meth:`SoftLabelLoss.weighted` once per teacher with that teacher's
per-sample weights.
"""
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


class SoftLabelLoss(nn.Module):
    """Base of medkd's soft-label losses: one calling convention.

    Class attributes a distiller checks when it is built:

    - ``head_kinds``: the head kinds the loss applies to (``'softmax'``,
      ``'multi_label'``: the values of
      :func:`~medkd.models.head_kind.head_kind`).
    - ``needs_labels``: whether :meth:`forward` needs ``labels``.

    Args:
        temperature (float): Temperature ``T``. Defaults to 1.0.
        loss_weight (float): Weight ``w``. Defaults to 1.0.
        reduction (str): ``'batchmean'`` (default), ``'sum'`` or ``'none'``
            (per-sample losses of shape ``(N,)``).
    """

    head_kinds = ('softmax', )
    needs_labels = False

    def __init__(self,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'batchmean'):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        _reduce(torch.zeros(1), reduction)
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.reduction = reduction

    def soften(self, teacher_logits: torch.Tensor) -> torch.Tensor:
        """The teacher distribution the loss compares the student with:
        ``(N, C)`` logits → ``(N, C)`` probabilities (``softmax(z / T)``)."""
        return F.softmax(teacher_logits / self.temperature, dim=1)

    def sample_losses(self,
                      student_logits: torch.Tensor,
                      teacher_logits: torch.Tensor,
                      labels: Optional[torch.Tensor] = None,
                      teacher_is_prob: bool = False,
                      mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The ``(N,)`` per-sample losses whose reduction is
        :meth:`forward` (``loss_weight`` included)."""
        raise NotImplementedError(
            f'{type(self).__name__} has no per-sample form')

    def forward(self,
                student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                labels: Optional[torch.Tensor] = None,
                teacher_is_prob: bool = False,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(N, C)`` student logits.
            teacher_logits (Tensor): ``(N, C)`` teacher logits, or, with
                ``teacher_is_prob=True``, teacher probabilities already
                softened by :meth:`soften` (e.g. a gated mixture).
            labels (Tensor, optional): ``(N,)`` class indices (for the
                losses with ``needs_labels``).
            teacher_is_prob (bool): Whether ``teacher_logits`` holds
                probabilities.
            mask (Tensor, optional): ``(N, L)`` per-label mask, sigmoid
                losses only (0: ignored).
        """
        self.check_inputs(labels, mask)
        return _reduce(
            self.sample_losses(student_logits, teacher_logits, labels,
                               teacher_is_prob, mask), self.reduction)

    def weighted(self,
                 student_logits: torch.Tensor,
                 teacher_logits: torch.Tensor,
                 sample_weights: torch.Tensor,
                 labels: Optional[torch.Tensor] = None,
                 teacher_is_prob: bool = False,
                 mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The batch loss with per-sample weights ``(N,)``:
        ``(1 / N) Σ_i w_i ℓ_i`` (``w_i = 1`` gives the ``'batchmean'``
        loss). ``GatedMultiTeacher(teacher_mixing='losses')`` sums it over
        the teachers, ``w_i`` being teacher k's gate weight for sample i."""
        self.check_inputs(labels, mask)
        per_sample = self.sample_losses(student_logits, teacher_logits,
                                        labels, teacher_is_prob, mask)
        return (sample_weights.to(per_sample) * per_sample).mean()

    def check_inputs(self, labels: Optional[torch.Tensor],
                     mask: Optional[torch.Tensor]) -> None:
        name = type(self).__name__
        if self.needs_labels and labels is None:
            raise ValueError(f'{name} needs the labels: call it with '
                             'labels=<(N,) class indices>.')
        if mask is not None and 'multi_label' not in self.head_kinds:
            raise ValueError(f'{name} is a softmax loss: a per-label mask '
                             'applies to sigmoid (multi-label) heads only.')


@MODELS.register_module()
class KDLoss(SoftLabelLoss):
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

    def sample_losses(self,
                      student_logits: torch.Tensor,
                      teacher_logits: torch.Tensor,
                      labels: Optional[torch.Tensor] = None,
                      teacher_is_prob: bool = False,
                      mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``w · T² · KL(p_t || p_s)`` per sample, ``(N,)``; arguments as
        :meth:`SoftLabelLoss.forward` (``mask`` must be None)."""
        p_teacher = teacher_logits if teacher_is_prob else self.soften(
            teacher_logits)
        kl = F.kl_div(
            self.student_log_probs(student_logits), p_teacher,
            reduction='none').sum(dim=1)
        return self.loss_weight * self.temperature**2 * kl

    def student_log_probs(self, student_logits: torch.Tensor) -> torch.Tensor:
        """``log softmax(z_s / T)``."""
        return F.log_softmax(student_logits / self.temperature, dim=1)


@MODELS.register_module()
class SoftBCELoss(SoftLabelLoss):
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

    head_kinds = ('multi_label', )

    def __init__(self,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0,
                 scale_by_t2: bool = False,
                 reduction: str = 'batchmean'):
        super().__init__(temperature, loss_weight, reduction)
        self.scale_by_t2 = scale_by_t2

    def soften(self, teacher_logits: torch.Tensor) -> torch.Tensor:
        """``σ(z_t / T)`` per label."""
        return torch.sigmoid(teacher_logits / self.temperature)

    def sample_losses(self,
                      student_logits: torch.Tensor,
                      teacher_logits: torch.Tensor,
                      labels: Optional[torch.Tensor] = None,
                      teacher_is_prob: bool = False,
                      mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The label-summed soft BCE per sample, ``(N,)``: ``(N, L)``
        logits, or probabilities ``σ(z_t / T)`` with
        ``teacher_is_prob=True``; ``mask`` ``(N, L)`` (0: ignored)."""
        T = self.temperature
        target = teacher_logits if teacher_is_prob else self.soften(
            teacher_logits)
        bce = F.binary_cross_entropy_with_logits(
            student_logits / T, target, reduction='none')
        if mask is not None:
            bce = bce * mask
        scale = T**2 if self.scale_by_t2 else 1.0
        return self.loss_weight * scale * bce.sum(dim=1)
