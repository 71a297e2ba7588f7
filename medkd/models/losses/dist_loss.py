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


def weighted_pearson_correlation(a: torch.Tensor,
                                 b: torch.Tensor,
                                 weights: torch.Tensor,
                                 eps: float = 1e-8) -> torch.Tensor:
    """Row-wise weighted Pearson correlation of two ``(N, D)`` tensors with
    ``(N, D)`` (or broadcastable) non-negative weights over the ``D``
    entries → ``(N,)``. The weights are rescaled to mean 1 along ``D``, so
    all-ones weights give :func:`pearson_correlation` exactly; an entry of
    weight 0 takes no part (a masked label, a sample the gate gives to
    another teacher)."""
    weights = torch.broadcast_to(weights.to(a), a.shape)
    total = weights.sum(1, keepdim=True)
    weights = weights * a.size(1) / total.clamp_min(1e-12)
    mean_a = (weights * a).sum(1, keepdim=True) / a.size(1)
    mean_b = (weights * b).sum(1, keepdim=True) / b.size(1)
    a, b = a - mean_a, b - mean_b
    cov = (weights * a * b).sum(1)
    # clamped: a row of zero weighted variance (no weight, or one weighted
    # entry) gives ρ = 0 with a zero gradient, not sqrt'(0) = inf
    norm = ((weights * a * a).sum(1).clamp_min(1e-30).sqrt() *
            (weights * b * b).sum(1).clamp_min(1e-30).sqrt())
    return cov / (norm + eps)


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
        y_s = self.scores(student_logits)
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

    def scores(self, student_logits: torch.Tensor) -> torch.Tensor:
        """The student's ``Y^s = softmax(Z_s / T)``."""
        return F.softmax(student_logits / self.temperature, dim=1)

    def weighted(self,
                 student_logits: torch.Tensor,
                 teacher_logits: torch.Tensor,
                 sample_weights: torch.Tensor,
                 labels: Optional[torch.Tensor] = None,
                 teacher_is_prob: bool = False,
                 mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """DIST with per-sample weights ``w`` ``(N,)``: the inter-class
        term averages ``w_i (1 - ρ_i)``, the intra-class term correlates
        each class over the batch with weights ``w`` (weighted Pearson)
        and is scaled by ``mean(w)``, the KL term averages ``w_i KL_i``.
        ``w = 1`` gives :meth:`forward` exactly; summed over K teachers
        whose weights sum to 1 per sample, K identical teachers give the
        single-teacher loss."""
        self.check_inputs(labels, mask)
        T = self.temperature
        w = sample_weights.to(student_logits)
        y_s = self.scores(student_logits)
        y_t = teacher_logits if teacher_is_prob else self.soften(
            teacher_logits)
        inter = (w * (1 - pearson_correlation(y_s, y_t))).mean()
        intra = w.mean() * (1 - weighted_pearson_correlation(
            y_s.t(), y_t.t(), w.unsqueeze(0))).mean()
        loss = self.loss_weight * T**2 * (self.beta * inter +
                                          self.gamma * intra)
        if self.kl_weight:
            kl = F.kl_div(F.log_softmax(student_logits / T, dim=1), y_t,
                          reduction='none').sum(1)
            loss = loss + self.kl_weight * T**2 * (w * kl).mean()
        return loss


@MODELS.register_module()
class MultiLabelDISTLoss(DISTLoss):
    """DIST's two relation terms on the per-label scores of a sigmoid
    (multi-label) head.

    With ``Y^s = σ(Z_s / T)`` and ``Y^t = σ(Z_t / T)`` (``(N, L)``, one
    independent probability per label) the terms are DIST's: the
    inter-label term correlates each sample's ``L`` label scores (the
    teacher's ranking of the findings of one image), the intra-label term
    correlates each label's scores over the batch (which images the teacher
    finds more likely positive). A ``mask`` (0: label not annotated) drops
    the entry from both correlations (weighted Pearson with the mask as
    weights). Unlike :class:`SoftBCELoss` the student need not reproduce
    the teacher's probabilities, only their order, which is what a
    much smaller student can follow. With one label the inter-label term is
    undefined, so ``beta`` must be 0 there (refused when the distiller is
    built). ``kl_weight`` adds the per-label soft BCE (mean over samples,
    summed over labels).

    Args:
        beta (float): Inter-label weight. Defaults to 1.0.
        gamma (float): Intra-label weight. Defaults to 1.0.
        temperature (float): ``T``. Defaults to 1.0.
        loss_weight (float): ``w``. Defaults to 1.0.
        kl_weight (float): Weight of the soft BCE term. Defaults to 0.
    """

    head_kinds = ('multi_label', )

    def soften(self, teacher_logits: torch.Tensor) -> torch.Tensor:
        """``σ(z_t / T)`` per label."""
        return torch.sigmoid(teacher_logits / self.temperature)

    def scores(self, student_logits: torch.Tensor) -> torch.Tensor:
        """The student's ``σ(Z_s / T)``."""
        return torch.sigmoid(student_logits / self.temperature)

    def forward(self,
                student_logits: torch.Tensor,
                teacher_logits: torch.Tensor,
                labels: Optional[torch.Tensor] = None,
                teacher_is_prob: bool = False,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss; arguments as :class:`SoftBCELoss`."""
        return self.weighted(student_logits, teacher_logits,
                             student_logits.new_ones(student_logits.size(0)),
                             labels, teacher_is_prob, mask)

    def weighted(self,
                 student_logits: torch.Tensor,
                 teacher_logits: torch.Tensor,
                 sample_weights: torch.Tensor,
                 labels: Optional[torch.Tensor] = None,
                 teacher_is_prob: bool = False,
                 mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """As :meth:`DISTLoss.weighted`, the mask weighing each entry."""
        self.check_inputs(labels, mask)
        T = self.temperature
        w = sample_weights.to(student_logits)
        entry = (torch.ones_like(student_logits) if mask is None else
                 mask.to(student_logits))
        y_s = self.scores(student_logits)
        y_t = teacher_logits if teacher_is_prob else self.soften(
            teacher_logits)
        inter = (w * (1 - weighted_pearson_correlation(y_s, y_t, entry))
                 ).mean()
        intra = w.mean() * (1 - weighted_pearson_correlation(
            y_s.t(), y_t.t(), (entry * w.unsqueeze(1)).t())).mean()
        loss = self.loss_weight * T**2 * (self.beta * inter +
                                          self.gamma * intra)
        if self.kl_weight:
            bce = F.binary_cross_entropy_with_logits(
                student_logits / T, y_t, reduction='none') * entry
            loss = loss + self.kl_weight * T**2 * (w * bce.sum(1)).mean()
        return loss
