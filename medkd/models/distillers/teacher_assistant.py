from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample, label_to_onehot

from medkd.models.classifiers import features_and_logits
from medkd.models.losses import check_loss_weights
from medkd.registry import MODELS
from .base import BaseDistiller
from .feature_pairs import FeaturePairsMixin


def label_mask(data_samples: List[DataSample],
               like: torch.Tensor) -> Optional[torch.Tensor]:
    """``(N, L)`` stack of the samples' ``gt_label_mask`` (1 = use, 0 =
    ignore), or None when no sample carries one."""
    if not any('gt_label_mask' in s for s in data_samples):
        return None
    ones = torch.ones(like.shape[1], dtype=like.dtype, device=like.device)
    return torch.stack([
        torch.as_tensor(s.gt_label_mask).to(like) if 'gt_label_mask' in s
        else ones for s in data_samples
    ])


def multi_label_targets(data_samples: List[DataSample],
                        num_classes: int) -> torch.Tensor:
    """``(N, L)`` 0/1 targets: ``gt_score`` if set, else one-hot labels."""
    if 'gt_score' in data_samples[0]:
        return torch.stack([s.gt_score for s in data_samples]).float()
    return torch.stack([
        label_to_onehot(s.gt_label, num_classes) for s in data_samples
    ]).float()


def masked_bce_with_logits(logits: torch.Tensor, targets: torch.Tensor,
                           mask: torch.Tensor) -> torch.Tensor:
    """BCE summed over the unmasked labels, averaged over the batch.

    .. math::
        L = \\frac{1}{N} \\sum_{n, l} m_{n,l} \\cdot
            \\mathrm{BCE}(\\sigma(z_{n,l}), y_{n,l})

    With ``m = 1`` this is mmpretrain's multi-label head loss.

    Args:
        logits (Tensor): ``(N, L)`` logits.
        targets (Tensor): ``(N, L)`` 0/1 targets.
        mask (Tensor): ``(N, L)``, 0 for entries to ignore.
    """
    bce = F.binary_cross_entropy_with_logits(
        logits, targets.to(logits), reduction='none')
    return (bce * mask).sum(dim=1).mean()


@MODELS.register_module()
class TeacherAssistant(FeaturePairsMixin, BaseDistiller):
    """One stage of a teacher → assistant → student chain.

    Trains the lower model (``student``: the assistant, or the student) from
    one frozen upper model (``teachers``; several entries form an ensemble
    whose logits are averaged, e.g. EfficientNet-B6 + B7):

    .. math::
        \\bar z_t = \\frac{1}{K} \\sum_k z_{t,k}

        L = w_{cls} L_{hard}(z_s, y) + w_{kd}
            L_{kd}(z_s, \\bar z_t) + \\sum_k L_{feat,k}(
            g_k(f^s_{i_k}), f^t_{j_k})

    logged as ``loss_cls``, ``loss_kd`` and ``loss_feat_<k>``. For sigmoid
    (multi-label) heads ``L_hard`` is the head's BCE and ``L_kd`` is
    ``SoftBCELoss`` between ``σ(z_s / T)`` and ``σ(z̄_t / T)`` (no ``T²``);
    for softmax heads ``L_hard`` is the head's CE and ``L_kd`` is
    ``KDLoss`` (``T² · KL``). When the batch carries ``gt_label_mask``
    (CheXpert's U-Ignore policy), both are restricted to the unmasked labels
    and ``L_hard`` is :func:`masked_bce_with_logits`.

    Feature pair ``k`` compares stage ``i_k`` of the student's backbone,
    passed through a trainable connector ``g_k`` (e.g. ``ConvConnector``: 1×1
    conv + bilinear resize to the teacher map's size), with stage ``j_k`` of
    one teacher's backbone. Stages are named as in the backbones'
    ``out_indices`` (which must list them; editing ``out_indices`` does not
    re-pair them); the last entry of ``out_indices`` must be the stage the
    head reads. The student's backbone runs once per step; the logits are
    computed from its last output. Connector channel counts not given in the
    config are found by running both backbones once on a random batch of
    ``probe_shape`` when the distiller is built.

    Args:
        student (dict): Config of the lower model (an ``ImageClassifier``).
        teachers (dict): The upper model: one or more frozen teachers, see
            :class:`BaseDistiller`.
        cls_weight (float): ``w_cls``. Defaults to 1.
        kd_weight (float): ``w_kd``. Defaults to 1.
        kd_loss (dict, optional): Soft-label loss config; its temperature
            is the only one (paper: 20 on CheXpert, 30 on COVID). Defaults
            to ``SoftBCELoss`` (no ``T²``) for sigmoid heads and ``KDLoss``
            otherwise, at ``default_temperature`` (20).
        feature_pairs (Sequence[dict]): Each ``dict(student_stage=i,
            teacher_stage=j, loss=<loss cfg>, connector=<connector cfg or
            None>, teacher=<teacher name, default the first>)``, ``i`` and
            ``j`` stage numbers of the ``out_indices``. A loss's
            ``loss_weight`` is its ``λ``. ``connector=None`` compares the
            maps directly (same shape required, except for losses such as
            ``ATLoss`` that average the channels). Defaults to ().
        probe_shape (Sequence[int]): ``(C, H, W)`` of the batch used to
            find connector channels and check the backbones' out_indices.
            Defaults to (3, 32, 32).
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    # the upper model's logits and features are computed live (features
    # are not cached)
    supports_teacher_cache = False

    default_temperature = 20.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 cls_weight: float = 1.0,
                 kd_weight: float = 1.0,
                 kd_loss: Optional[dict] = None,
                 feature_pairs: Sequence[dict] = (),
                 probe_shape: Sequence[int] = (3, 32, 32),
                 **kwargs):
        super().__init__(student, teachers, **kwargs)
        if len(self.teachers) < 1:
            raise ValueError('TeacherAssistant needs at least one entry in '
                             '`teachers`.')
        self.cls_weight, self.kd_weight = check_loss_weights(
            cls_weight=cls_weight, kd_weight=kd_weight)
        self.kd_loss = self.build_kd_loss(kd_loss)

        self.build_feature_pairs(feature_pairs, probe_shape)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        teacher_logits, teacher_feats = self._upper_outputs(inputs)
        if self.feature_pairs:
            student_feats, student_logits = features_and_logits(
                self.student, inputs)
        else:
            student_logits = self.student(inputs, mode='tensor')
        mask = (label_mask(data_samples, student_logits)
                if self.multi_label else None)
        kd_kwargs = dict(labels=self.hard_labels(data_samples))
        if mask is not None:
            kd_kwargs['mask'] = mask
        losses = dict(
            loss_cls=self.cls_weight *
            self._hard_loss(student_logits, data_samples, mask),
            loss_kd=self.kd_weight *
            self.kd_loss(student_logits, teacher_logits, **kd_kwargs))
        if self.feature_pairs:
            losses.update(
                self.feature_pair_losses(student_feats, teacher_feats))
        return losses

    def _upper_outputs(self, inputs: torch.Tensor):
        """Mean teacher logits and the backbone outputs of the teachers that
        feature pairs read (frozen: ``no_grad``, detached)."""
        logits, feats = self.teacher_features(inputs)
        return torch.stack(list(logits.values())).mean(dim=0), feats

    def classification_loss(self, inputs: torch.Tensor,
                            data_samples: List[DataSample]
                            ) -> Dict[str, torch.Tensor]:
        """The hard loss alone (masked under U-Ignore), see
        :meth:`BaseDistiller.classification_loss`."""
        logits = self.student(inputs, mode='tensor')
        mask = (label_mask(data_samples, logits)
                if self.multi_label else None)
        return dict(loss_cls=self._hard_loss(logits, data_samples, mask))

    def _hard_loss(self, logits: torch.Tensor,
                   data_samples: List[DataSample],
                   mask: Optional[torch.Tensor]) -> torch.Tensor:
        """The head's loss, or the masked BCE when labels carry masks."""
        if mask is None:
            return self.student_cls_loss(logits, data_samples)
        targets = multi_label_targets(data_samples, logits.shape[1])
        return masked_bce_with_logits(logits, targets, mask)
