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

__all__ = ['MeanGate', 'CAMKDGate', 'BestTeacherGate']


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

    ``temperature`` ``τ`` divides the cross-entropies inside the softmax
    (``softmax(CE / τ)``): 1 is CA-MKD's; a smaller one sharpens the
    weights towards the teacher most confident in the label (for K = 2,
    ``w_k = softmax(-CE / τ)_k``, one-hot on that teacher as ``τ → 0``).

    Args:
        num_teachers (int): K (filled in by the distiller).
        head_kind (str): Must be ``'softmax'`` (filled in by the distiller).
        temperature (float): ``τ > 0``. Defaults to 1 (CA-MKD's).
        init_cfg (dict, optional): Unused (no parameters).
    """

    uses_teacher_outputs = True

    def __init__(self, num_teachers: int, head_kind: str = 'softmax',
                 temperature: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(num_teachers, head_kind, init_cfg)
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ValueError('model.gate.temperature of CAMKDGate must be a '
                             f'number > 0, got {temperature!r}.')
        self.temperature = float(temperature)
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
        return (1 - F.softmax(ce / self.temperature, dim=1)) / (
            self.num_teachers - 1)


@MODELS.register_module()
class BestTeacherGate(_FixedGate):
    """Per sample, all the weight on the best teacher that is right.

    A teacher is right on a sample when its arg-max is the label; the best
    is the one with the highest running training accuracy (each teacher's
    share of right answers over the training batches seen so far, kept in
    the ``accuracy`` buffer). When no teacher is right, the one most
    confident in the label (lowest cross-entropy) teaches. So one teacher
    that is better everywhere teaches every sample it gets right and the
    others only correct its mistakes, while teachers that are expert on
    different classes each teach their own classes. Parameter-free, label
    aware, softmax heads only; without labels the weights are uniform.
    With Mixup / CutMix targets the label is the target's arg-max.

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
                "model.gate: BestTeacherGate compares each teacher's arg-max "
                f"with the class label and needs a softmax head, got "
                f'{head_kind!r}.')
        self.register_buffer('correct', torch.zeros(num_teachers))
        self.register_buffer('seen', torch.zeros(()))

    @property
    def accuracy(self) -> torch.Tensor:
        """``(K,)`` running training accuracy of each teacher."""
        return self.correct / self.seen.clamp_min(1)

    def forward(self,
                x: torch.Tensor,
                teacher_probs: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if teacher_probs is None:
            raise ValueError('BestTeacherGate needs the teachers\' '
                             'probabilities (N, K, C)')
        if labels is None:
            return self.uniform(x)
        if labels.dim() == 2:  # (N, C) mixed targets of Mixup / CutMix
            labels = labels.argmax(1)
        labels = labels.long()
        right = teacher_probs.argmax(-1) == labels.view(-1, 1)  # (N, K)
        if self.training:
            self.correct += right.sum(0).to(self.correct)
            self.seen += right.shape[0]
        index = labels.view(-1, 1, 1).expand(-1, self.num_teachers, 1)
        confidence = teacher_probs.gather(2, index).squeeze(2)  # p_k(y)
        # right first, then the better teacher; if none is right, the one
        # most confident in the label
        score = torch.where(right.any(1, keepdim=True),
                            right.to(confidence) * 2 + self.accuracy,
                            confidence)
        return F.one_hot(score.argmax(1), self.num_teachers).to(confidence)
