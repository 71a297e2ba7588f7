"""Parameter-free multi-teacher weightings: the baselines a learned gate is
judged against.

Every gate of :class:`~medkd.models.distillers.GatedMultiTeacher` is called
the same way::

    weights = gate(images, teacher_probs, labels)   # (N, K), rows sum to 1

with ``images`` the student's normalised ``(N, C, H, W)`` batch,
``teacher_probs`` the ``(N, K, C)`` teacher probabilities at T = 1 and
``labels`` the ``(N,)`` class indices, or the ``(N, C)`` mixed targets of a
Mixup / CutMix batch (None when the batch has none, e.g.
inference on unlabelled images). A gate uses what it needs.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from medkd.registry import MODELS

__all__ = ['MeanGate', 'CAMKDGate']


class _FixedGate(BaseModule):
    """Common arguments of the parameter-free gates."""

    #: Whether the weights depend on the teachers' outputs (if not, a
    #: distiller's predictions need not run the teachers).
    uses_teacher_outputs = False

    def __init__(self,
                 num_teachers: int,
                 head_kind: str = 'softmax',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_teachers < 2:
            raise ValueError(f'a gate needs num_teachers >= 2, '
                             f'got {num_teachers}')
        self.num_teachers = num_teachers
        self.head_kind = head_kind

    def uniform(self, reference: torch.Tensor) -> torch.Tensor:
        """``(N, K)`` weights ``1 / K`` on ``reference``'s device."""
        return reference.new_full((reference.size(0), self.num_teachers),
                                  1.0 / self.num_teachers)


@MODELS.register_module()
class MeanGate(_FixedGate):
    """Equal weights ``1 / K`` for every teacher and sample (AVER-MKD, the
    averaged multi-teacher baseline).

    Args:
        num_teachers (int): K (filled in by the distiller).
        head_kind (str): The student's head kind (filled in; unused).
        init_cfg (dict, optional): Unused (no parameters).
    """

    def forward(self,
                x: torch.Tensor,
                teacher_probs: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.uniform(x)


@MODELS.register_module()
class CAMKDGate(_FixedGate):
    """Confidence-aware weights of CA-MKD (Zhang et al., ICASSP 2022).

    Per sample, teacher ``k``'s cross-entropy with the label
    ``CE_k = -log p_k(y)`` is turned into

    .. math::
        w_k = \\frac{1 - \\mathrm{softmax}_k(\\mathrm{CE})}{K - 1}

    so a teacher that is more confident in the right class weighs more;
    weights sum to 1, nothing is trained. Without labels (inference on
    unlabelled images) the weights are uniform. Softmax heads only.

    Args:
        num_teachers (int): K (filled in by the distiller).
        head_kind (str): Must be ``'softmax'`` (filled in by the distiller).
        init_cfg (dict, optional): Unused (no parameters).
    """

    uses_teacher_outputs = True

    def __init__(self, num_teachers: int, head_kind: str = 'softmax',
                 init_cfg: Optional[dict] = None):
        super().__init__(num_teachers, head_kind, init_cfg)
        if head_kind != 'softmax':
            raise ValueError(
                "model.gate: CAMKDGate weighs teachers by their cross-entropy "
                f"with the class label and needs a softmax head, got "
                f"{head_kind!r}.")

    def forward(self,
                x: torch.Tensor,
                teacher_probs: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if teacher_probs is None:
            raise ValueError('CAMKDGate needs the teachers\' probabilities '
                             '(N, K, C)')
        if labels is None:
            return self.uniform(x)
        log_p = teacher_probs.clamp_min(1e-12).log()  # (N, K, C)
        if labels.dim() == 2:  # (N, C) mixed targets of Mixup / CutMix
            ce = -(labels.to(log_p).unsqueeze(1) * log_p).sum(2)
        else:
            index = labels.long().view(-1, 1, 1).expand(
                -1, self.num_teachers, 1)
            ce = -log_p.gather(2, index).squeeze(2)  # (N, K)
        return (1 - F.softmax(ce, dim=1)) / (self.num_teachers - 1)
