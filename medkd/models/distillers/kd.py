from typing import Dict, List, Optional

import torch
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from .base import BaseDistiller, build_kd_loss


@MODELS.register_module()
class VanillaKD(BaseDistiller):
    """Hinton et al.'s knowledge distillation from one frozen teacher.

    .. math::
        L = (1 - \\alpha) \\cdot \\mathrm{CE}(z_s, y)
            + \\alpha \\cdot L_{kd}(z_s, z_t)

    logged as ``loss_cls`` and ``loss_kd``. ``L_kd`` is any soft-label
    loss (``KDLoss``, ``LogitStdKDLoss``, ``DKDLoss``, ``DISTLoss`` for
    softmax heads; ``SoftBCELoss`` for sigmoid heads), called with the
    batch's labels.

    Args:
        student (dict): Student classifier config.
        teachers (dict): Exactly one teacher, see :class:`BaseDistiller`.
        alpha (float): Weight of the distillation term. Defaults to 0.5.
        kd_loss (dict, optional): Soft-label loss config. Defaults to
            ``KDLoss`` for softmax heads and ``SoftBCELoss`` (with ``T²``)
            for sigmoid heads, at ``default_temperature`` (4).
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    default_temperature = 4.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 alpha: float = 0.5,
                 kd_loss: Optional[dict] = None,
                 **kwargs):
        super().__init__(student, teachers, **kwargs)
        if len(self.teachers) != 1:
            raise ValueError('VanillaKD takes exactly one teacher in '
                             f'`teachers`, got {list(self.teachers)}')
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.alpha = alpha
        self.kd_loss = build_kd_loss(kd_loss, self.student,
                                     self.default_temperature)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        (teacher_logits, ) = self.teacher_logits(inputs, data_samples).values()
        student_logits = self.student(inputs, mode='tensor')
        return dict(
            loss_cls=(1 - self.alpha) *
            self.student_cls_loss(student_logits, data_samples),
            loss_kd=self.alpha * self.kd_loss(
                student_logits, teacher_logits,
                labels=self.hard_labels(data_samples)))
