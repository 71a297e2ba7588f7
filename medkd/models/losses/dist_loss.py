"""DIST: distillation from a stronger teacher (Huang et al., NeurIPS 2022)."""
from typing import Optional

import torch
import torch.nn.functional as F

from medkd.registry import MODELS
from .kd_loss import SoftLabelLoss


def pearson_correlation(a: torch.Tensor,
                        b: torch.Tensor,
                        eps: float = 1e-8) -> torch.Tensor:
    """Row-wise Pearson correlation of two ``(N, D)`` tensors → ``(N,)``."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


@MODELS.register_module()
class DISTLoss(SoftLabelLoss):
    """Inter- and intra-class Pearson relation losses (DIST).

    With ``Y^s = softmax(Z_s / T)`` and ``Y^t = softmax(Z_t / T)``
    (``(N, C)``) and ``ρ`` the Pearson correlation:

    .. math::
        L_{inter} = T^2 \\cdot \\frac{1}{N} \\sum_i (1 - \\rho(Y^s_{i,:},
            Y^t_{i,:}))

        L_{intra} = T^2 \\cdot \\frac{1}{C} \\sum_j (1 - \\rho(Y^s_{:,j},
            Y^t_{:,j}))

        L = w \\cdot (\\beta L_{inter} + \\gamma L_{intra})

    as the paper's official code (``eps = 1e-8`` in the correlation). The
    student matches the *ranking* of the teacher's class scores per sample
    and the relation of samples per class, not their exact values, which is
    what makes it robust to a large teacher–student gap. The intra-class
    term relates the samples of a batch, so the loss is defined for the
    batch only (``reduction`` is ``'batchmean'``).

    DIST is scale-free: a student whose logits shrink keeps its rankings,
    and the correlation's gradient grows as they do, so a DIST student ends
    with near-uniform probabilities (ECE ~60 % on the demos, fixed after
    training by temperature scaling). ``kl_weight`` adds Hinton's KL term
    (``batchmean``), which ties the student's logit scale to the teacher's.

    Args:
        beta (float): Inter-class weight. Defaults to 1.0.
        gamma (float): Intra-class weight. Defaults to 1.0.
        temperature (float): ``T``. Defaults to 1.0.
        loss_weight (float): ``w``. Defaults to 1.0.
        kl_weight (float): ``λ``, the weight of the KL term. Defaults to 0.
    """

    def __init__(self,
                 beta: float = 1.0,
                 gamma: float = 1.0,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0,
                 kl_weight: float = 0.0):
        super().__init__(temperature, loss_weight, 'batchmean')
        self.beta = beta
        self.gamma = gamma
        self.kl_weight = kl_weight

    def forward(self,
                student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                labels: Optional[torch.Tensor] = None,
                teacher_is_prob: bool = False,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss; arguments as :class:`KDLoss`."""
        self.check_inputs(labels, mask)
        T = self.temperature
        y_s = F.softmax(student_logits / T, dim=1)
        y_t = teacher_logits if teacher_is_prob else self.soften(
            teacher_logits)
        inter = 1 - pearson_correlation(y_s, y_t).mean()
        intra = 1 - pearson_correlation(y_s.t(), y_t.t()).mean()
        loss = self.loss_weight * T**2 * (self.beta * inter +
                                          self.gamma * intra)
        if self.kl_weight:
            kl = F.kl_div(F.log_softmax(student_logits / T, dim=1), y_t,
                          reduction='batchmean')
            loss = loss + self.kl_weight * T**2 * kl
        return loss
