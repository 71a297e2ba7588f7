"""MultiModalMIMO: MM-MIMO distilled from late-fusion teachers (seed 002)."""
from typing import Dict, List, Optional

import torch
from mmpretrain.structures import DataSample

from medkd.models.losses import check_loss_weights
from medkd.registry import MODELS
from .base import BaseDistiller


@MODELS.register_module()
class MultiModalMIMO(BaseDistiller):
    """MM-MIMO + KD (seed 002): each MIMO head learns from its modality's
    late-fusion network.

    The student is a :class:`~medkd.models.MIMOClassifier` with M slots;
    teacher ``m`` (the ``m``-th entry of ``teachers``, in config order) is
    the frozen single-modality network of modality ``m`` and sees only slot
    ``m`` of the packed input (the student's ``slot_slice(m)``):

    .. math::
        L_T = w_{cls} \\sum_m \\mathrm{CE}(z_m, y_m) + w_{kd} \\sum_m
            L_{kd}(z_m, \\hat z_m, y_m)

    where ``L_kd`` is ``kd_loss`` (default ``KDLoss``: ``T² ·
    KL(softmax(ẑ_m / T) ‖ softmax(z_m / T))``, the paper's; any softmax
    soft-label loss, called with slot ``m``'s labels)

    with ``z_m`` head ``m``'s logits, ``\\hat z_m`` teacher ``m``'s and
    ``y_m`` the label of the cell in slot ``m``. Logged as ``loss_cls``
    and ``loss_kd``, plus ``kd_<teacher>`` (each slot's ``L_kd``, not
    weighted, not a loss key). Predictions are the student's: the
    average of the M heads' softmax outputs, ``head_scores`` per head.

    Args:
        student (dict): ``MIMOClassifier`` config.
        teachers (dict): M single-modality classifiers in slot order, see
            :class:`BaseDistiller`. ``ckpt`` may be the classifier's own
            checkpoint or a :class:`~medkd.models.LateFusionClassifier`
            checkpoint, whose member of the teacher's name is loaded.
        cls_weight (float): ``w_cls``. Defaults to 1.
        kd_weight (float): ``w_kd``. Defaults to 1 (the paper's ``L_M +
            T²·L_KD``).
        kd_loss (dict, optional): Soft-label loss per slot; its temperature
            is the only one. Defaults to ``dict(type='KDLoss',
            temperature=4)`` (``default_temperature``).
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    default_temperature = 4.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 cls_weight: float = 1.0,
                 kd_weight: float = 1.0,
                 kd_loss: Optional[dict] = None,
                 **kwargs):
        super().__init__(student, teachers, **kwargs)
        if not hasattr(self.student, 'slot_slice'):
            raise TypeError(
                'MultiModalMIMO needs a MIMOClassifier student (with '
                f'slot_slice), got {type(self.student).__name__}.')
        if self.multi_label:
            raise ValueError('MultiModalMIMO supports softmax heads only.')
        if len(self.teachers) != self.student.num_slots:
            raise ValueError(
                f'MultiModalMIMO needs one teacher per slot: the student has '
                f'{self.student.num_slots} slots '
                f'{self.student.slot_channels}, teachers are '
                f'{list(self.teachers)}.')
        self.slot_of = {name: m for m, name in enumerate(self.teachers)}
        self.cls_weight, self.kd_weight = check_loss_weights(
            cls_weight=cls_weight, kd_weight=kd_weight)
        self.kd_loss = self.build_kd_loss(kd_loss)

    def build_teacher(self, name: str, cfg: dict, **filled_in):
        """A frozen teacher whose ``ckpt`` may also be a late-fusion
        checkpoint: its member ``name`` (``member`` defaults to the
        teacher's name)."""
        return super().build_teacher(name, dict(dict(member=name), **cfg),
                                     **filled_in)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        student_logits = self.student(inputs, mode='tensor')
        per_slot = self.slot_kd_losses(
            student_logits, self.teacher_logits(inputs, data_samples),
            self.student.head.slot_targets(data_samples).to(
                student_logits.device))
        losses = dict(
            loss_cls=self.cls_weight *
            self.student_cls_loss(student_logits, data_samples),
            loss_kd=self.kd_weight * sum(per_slot.values()))
        losses.update({
            f'kd_{name}': value.detach()
            for name, value in per_slot.items()
        })
        return losses

    def slot_kd_losses(
            self,
            student_logits: torch.Tensor,
            teacher_logits: Dict[str, torch.Tensor],
            slot_labels: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Per slot ``{teacher: L_kd(z_m, ẑ_m, y_m)}``.

        Args:
            student_logits (Tensor): ``(N, M, C)`` student logits.
            teacher_logits (dict): ``{teacher: (N, C)}`` logits.
            slot_labels (Tensor, optional): ``(N, M)`` labels of the cell in
                each slot (required by label-aware losses such as DKD).
        """
        losses = {}
        for name, logits in teacher_logits.items():
            m = self.slot_of[name]
            labels = None if slot_labels is None else slot_labels[:, m]
            losses[name] = self.kd_loss(
                student_logits[:, m], logits, labels=labels)
        return losses

    def teacher_view(self, name: str, inputs: torch.Tensor) -> torch.Tensor:
        """Slot ``m`` of the packed batch for teacher ``m``."""
        return inputs[:, self.student.slot_slice(self.slot_of[name])]
