from typing import Dict, List, Optional

import torch
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from .base import BaseDistiller


@MODELS.register_module()
class VanillaKD(BaseDistiller):
    """Hinton et al.'s knowledge distillation from one frozen teacher.

    .. math::
        L = (1 - \\alpha) \\cdot \\mathrm{CE}(z_s, y)
            + \\alpha \\cdot L_{kd}(z_s, z_t)

    logged as ``loss_cls`` and ``loss_kd``. ``L_kd`` is
    ``KDLoss`` (``T² · KL``) for softmax heads; use ``SoftBCELoss`` for
    sigmoid heads.

    Args:
        student (dict): Student classifier config.
        teachers (dict): Exactly one teacher, see :class:`BaseDistiller`.
        alpha (float): Weight of the distillation term. Defaults to 0.5.
        kd_loss (dict): Soft-label loss config. Defaults to
            ``dict(type='KDLoss', temperature=4.0)``.
        **kwargs: Passed to :class:`BaseDistiller`.
    """

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
        self.kd_loss = MODELS.build(
            kd_loss or dict(type='KDLoss', temperature=4.0))

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        (teacher_logits, ) = self.teacher_logits(inputs, data_samples).values()
        student_logits = self.student(inputs, mode='tensor')
        return dict(
            loss_cls=(1 - self.alpha) *
            self.student_cls_loss(student_logits, data_samples),
            loss_kd=self.alpha * self.kd_loss(student_logits, teacher_logits))
