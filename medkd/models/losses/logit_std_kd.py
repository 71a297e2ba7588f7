"""Logit standardisation before the KD softmax (Sun et al., CVPR 2024)."""
import torch
import torch.nn.functional as F

from medkd.registry import MODELS
from .kd_loss import KDLoss


def standardize_logits(logits: torch.Tensor,
                       eps: float = 1e-7) -> torch.Tensor:
    """Z-score each row of ``(N, C)`` logits: ``(z - mean(z)) / (std(z) +
    eps)``, ``std`` with Bessel's correction (as the paper's official code,
    ``torch.std``)."""
    mean = logits.mean(dim=1, keepdim=True)
    std = logits.std(dim=1, keepdim=True)
    return (logits - mean) / (std + eps)


@MODELS.register_module()
class LogitStdKDLoss(KDLoss):
    """KD on z-scored logits ("Logit Standardization in Knowledge
    Distillation", Sun et al., CVPR 2024).

    .. math::
        \\mathcal{Z}(z) = \\frac{z - \\bar z}{\\sigma(z)}

        L = w \\cdot T^2 \\cdot \\mathrm{KL}(
            \\mathrm{softmax}(\\mathcal{Z}(z_t) / T) \\,\\|\\,
            \\mathrm{softmax}(\\mathcal{Z}(z_s) / T))

    summed over classes, ``batchmean`` over the batch. The student only has
    to match the teacher's logit *relations*, not their range, so a small
    student is not pushed to reproduce a large teacher's logit magnitudes
    (the reason Hinton KD at high ``T`` makes it underfit).

    With ``teacher_is_prob=True`` the teacher side is a distribution made by
    :meth:`soften` (standardised, then softened), e.g. a gated mixture of
    several standardised teachers.

    Args:
        temperature (float): ``T`` applied to the standardised logits
            (the paper uses 2-ish base temperatures). Defaults to 2.0.
        loss_weight (float): ``w``. Defaults to 1.0.
        reduction (str): ``'batchmean'`` (default), ``'sum'`` or ``'none'``.
    """

    def __init__(self,
                 temperature: float = 2.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'batchmean'):
        super().__init__(temperature, loss_weight, reduction)

    def soften(self, teacher_logits: torch.Tensor) -> torch.Tensor:
        """``softmax(Z(z_t) / T)``."""
        return F.softmax(
            standardize_logits(teacher_logits) / self.temperature, dim=1)

    def student_log_probs(self, student_logits: torch.Tensor) -> torch.Tensor:
        """``log softmax(Z(z_s) / T)``."""
        return F.log_softmax(
            standardize_logits(student_logits) / self.temperature, dim=1)
