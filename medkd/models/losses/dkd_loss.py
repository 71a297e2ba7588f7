"""Decoupled knowledge distillation (Zhao et al., CVPR 2022)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from medkd.registry import MODELS
from .kd_loss import SoftLabelLoss


def _binary_kl(p_t: torch.Tensor, log_p_s: torch.Tensor,
               log_1m_p_s: torch.Tensor) -> torch.Tensor:
    """KL between the teacher's and the student's (target, rest) split."""
    return (F.kl_div(log_p_s, p_t, reduction='none') +
            F.kl_div(log_1m_p_s, 1 - p_t, reduction='none'))


@MODELS.register_module()
class DKDLoss(SoftLabelLoss):
    """Decoupled KD: target-class (TCKD) and non-target-class (NCKD) terms.

    With ``p = softmax(z / T)``, ``t`` the label, ``b = (p_t, 1 - p_t)`` the
    binary target / rest split and ``p̂_j = p_j / (1 - p_t)`` (``j ≠ t``) the
    distribution among the non-target classes:

    .. math::
        L = w \\cdot \\lambda(e) \\cdot T^2 \\cdot (\\alpha \\cdot
            \\mathrm{KL}(b^t \\| b^s) + \\beta \\cdot
            \\mathrm{KL}(\\hat p^t \\| \\hat p^s))

    ``batchmean`` over the batch, as the paper's official code (mdistiller).
    ``λ(e) = min((e + 1) / warmup_epochs, 1)`` for the 0-based training epoch
    ``e`` read from mmengine's message hub (``epoch`` info, updated by the
    runner each epoch): the official code's linear warm-up
    ``min(epoch / warmup, 1)`` with 1-based epochs; ``warmup_epochs=0``
    gives ``λ = 1`` throughout.

    Args:
        alpha (float): TCKD weight. Defaults to 1.0.
        beta (float): NCKD weight. Defaults to 8.0.
        temperature (float): ``T``. Defaults to 4.0.
        warmup_epochs (int): Epochs of the linear warm-up. Defaults to 0.
        loss_weight (float): ``w``. Defaults to 1.0.
        reduction (str): ``'batchmean'`` (default), ``'sum'`` or ``'none'``.
    """

    needs_labels = True

    def __init__(self,
                 alpha: float = 1.0,
                 beta: float = 8.0,
                 temperature: float = 4.0,
                 warmup_epochs: int = 0,
                 loss_weight: float = 1.0,
                 reduction: str = 'batchmean'):
        super().__init__(temperature, loss_weight, reduction)
        if warmup_epochs < 0:
            raise ValueError(f'warmup_epochs must be >= 0, got '
                             f'{warmup_epochs}')
        self.alpha = alpha
        self.beta = beta
        self.warmup_epochs = warmup_epochs

    def warmup_factor(self) -> float:
        """``λ(e)`` for the runner's current epoch (1 outside a runner)."""
        if not self.warmup_epochs:
            return 1.0
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return min((epoch + 1) / self.warmup_epochs, 1.0)

    def sample_losses(self,
                      student_logits: torch.Tensor,
                      teacher_logits: torch.Tensor,
                      labels: Optional[torch.Tensor] = None,
                      teacher_is_prob: bool = False,
                      mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The per-sample loss ``(N,)``.

        Args:
            student_logits (Tensor): ``(N, C)`` student logits.
            teacher_logits (Tensor): ``(N, C)`` teacher logits, or
                ``softmax(z_t / T)`` (e.g. a gated mixture) with
                ``teacher_is_prob=True``.
            labels (Tensor): ``(N,)`` class indices (required).
            teacher_is_prob (bool): Whether ``teacher_logits`` holds
                probabilities.
            mask (Tensor, optional): Must be None (softmax loss).
        """
        T = self.temperature
        target = F.one_hot(labels.long(), student_logits.size(1)).bool()
        # student, in log space: log p, log p_t, log(1 - p_t), log p̂
        log_p_s = F.log_softmax(student_logits / T, dim=1)
        log_pt_s = log_p_s[target]
        log_rest_s = log_p_s.masked_fill(target, float('-inf')).logsumexp(1)
        log_hat_s = (log_p_s - log_rest_s[:, None]).masked_fill(target, 0.0)
        if teacher_is_prob:
            p_t = teacher_logits
            pt_t = p_t[target]
            hat_t = (p_t / (1 - pt_t).clamp_min(1e-12)[:, None]).masked_fill(
                target, 0.0)
        else:
            p_t = self.soften(teacher_logits)
            pt_t = p_t[target]
            hat_t = F.softmax(
                (teacher_logits / T).masked_fill(target, float('-inf')),
                dim=1)
        tckd = _binary_kl(pt_t, log_pt_s, log_rest_s)
        nckd = F.kl_div(log_hat_s, hat_t, reduction='none').sum(1)
        per_sample = T**2 * (self.alpha * tckd + self.beta * nckd)
        return self.loss_weight * self.warmup_factor() * per_sample
