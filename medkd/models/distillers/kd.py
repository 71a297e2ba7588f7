from typing import Dict, List, Optional, Sequence

import torch
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from medkd.models.classifiers import features_and_logits
from medkd.models.losses import check_loss_weights
from .base import BaseDistiller
from .feature_pairs import FeaturePairsMixin


@MODELS.register_module()
class VanillaKD(FeaturePairsMixin, BaseDistiller):
    """Hinton et al.'s knowledge distillation from one frozen teacher.

    .. math::
        L = w_{cls} \\cdot \\mathrm{CE}(z_s, y)
            + w_{kd} \\cdot L_{kd}(z_s, z_t)

    logged as ``loss_cls`` and ``loss_kd``. ``L_kd`` is any soft-label
    loss (``KDLoss``, ``LogitStdKDLoss``, ``DKDLoss``, ``DISTLoss`` for
    softmax heads; ``SoftBCELoss`` for sigmoid heads), called with the
    batch's labels.

    Args:
        student (dict): Student classifier config.
        teachers (dict): Exactly one teacher, see :class:`BaseDistiller`.
        cls_weight (float): ``w_cls``, weight of the student's own
            classification loss. Defaults to 0.5.
        kd_weight (float): ``w_kd``, weight of the distillation term
            (Hinton's ``alpha`` with ``cls_weight = 1 - alpha``). Defaults
            to 0.5.
        kd_loss (dict, optional): Soft-label loss config; its temperature is
            the only one. Defaults to ``KDLoss`` for softmax heads and
            ``SoftBCELoss`` for sigmoid heads, at
            ``default_temperature`` (4).
        feature_pairs (Sequence[dict]): Feature terms added to the loss
            (FitNets, attention transfer, ...), see
            :class:`~medkd.models.distillers.feature_pairs.FeaturePairsMixin`.
            The teacher then runs live (features are not cached).
            Defaults to ().
        probe_shape (Sequence[int]): ``(C, H, W)`` of the batch that finds
            the connectors' channels. Defaults to (3, 32, 32).
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 cls_weight: float = 0.5,
                 kd_weight: float = 0.5,
                 kd_loss: Optional[dict] = None,
                 feature_pairs: Sequence[dict] = (),
                 probe_shape: Sequence[int] = (3, 32, 32),
                 **kwargs):
        super().__init__(student, teachers, **kwargs)
        if len(self.teachers) != 1:
            raise ValueError('VanillaKD takes exactly one teacher in '
                             f'`teachers`, got {list(self.teachers)}')
        self.cls_weight, self.kd_weight = check_loss_weights(
            cls_weight=cls_weight, kd_weight=kd_weight)
        self.kd_loss = self.build_kd_loss(kd_loss)
        self.build_feature_pairs(feature_pairs, probe_shape)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        losses = {}
        if self.feature_pairs:
            logits, teacher_feats = self.teacher_features(inputs)
            (teacher_logits, ) = logits.values()
            student_feats, student_logits = features_and_logits(
                self.student, inputs)
            losses = self.feature_pair_losses(student_feats, teacher_feats)
        else:
            (teacher_logits, ) = self.teacher_logits(inputs,
                                                     data_samples).values()
            student_logits = self.student(inputs, mode='tensor')
        return dict(
            **losses,
            loss_cls=self.cls_weight *
            self.student_cls_loss(student_logits, data_samples),
            loss_kd=self.kd_weight * self.kd_loss(
                student_logits, teacher_logits,
                labels=self.hard_labels(data_samples)))
