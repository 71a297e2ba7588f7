"""Multi-modal multi-input multi-output (MM-MIMO) classifier, seed 002.

One backbone reads the M modalities concatenated on the channel axis and
one linear head gives M × C logits, one C-way output per modality slot.
Trained on samples whose slots hold independently drawn cells (see
:class:`~medkd.datasets.MIMODataset`), each output learns from its own
slot only, so the network holds M modality-specific subnetworks at the cost
of early fusion; at test time every slot holds the same cell and the M
softmax outputs are averaged.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from medkd.registry import MODELS


@MODELS.register_module()
class MIMOClsHead(ClsHead):
    """A linear head with one ``C``-way output per MIMO slot.

    .. math::
        L_M = \\sum_{m=1}^{M} \\mathrm{CE}(z_m, y_m)

    where ``z_m`` are the ``(N, C)`` logits of head ``m`` and ``y_m`` the
    labels of slot ``m`` (``slot_labels`` of the data samples; the sample's
    ``gt_label`` in every slot when absent, i.e. one cell per sample).
    ``loss`` (the head's loss module, cross-entropy by default) averages over
    the batch. Predictions average the M softmax outputs into
    ``pred_score`` and keep them as ``head_scores`` ``(M, C)``.

    Args:
        num_classes (int): Classes ``C`` per slot.
        in_channels (int): Input feature channels.
        num_heads (int): Number of slots ``M``.
        init_cfg (dict, optional): Defaults to a Normal(0, 0.01) init of the
            linear layer, as mmpretrain's ``LinearClsHead``.
        **kwargs: Arguments of :class:`mmpretrain.models.heads.ClsHead`
            (``loss``, ``topk``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_heads: int,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0 or num_heads <= 0:
            raise ValueError('num_classes and num_heads must be positive, '
                             f'got {num_classes} and {num_heads}')
        self.num_classes = num_classes
        self.num_heads = num_heads
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_heads * num_classes)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """``(N, M, C)`` logits from the last feature ``(N, in_channels)``."""
        logits = self.fc(self.pre_logits(feats))
        return logits.view(-1, self.num_heads, self.num_classes)

    def slot_targets(self, data_samples: List[DataSample]) -> torch.Tensor:
        """``(N, M)`` labels: ``slot_labels``, or ``gt_label`` repeated."""
        if 'slot_labels' in data_samples[0]:
            targets = torch.stack([s.slot_labels for s in data_samples])
        else:
            targets = torch.stack([
                s.gt_label.reshape(-1)[:1].expand(self.num_heads)
                for s in data_samples
            ])
        if targets.shape[1] != self.num_heads:
            raise ValueError(f'MIMOClsHead has {self.num_heads} heads but the '
                             f'samples carry {targets.shape[1]} slot labels.')
        return targets.long()

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        """``L_M`` from ``(N, M, C)`` logits."""
        targets = self.slot_targets(data_samples).to(cls_score.device)
        loss = sum(
            self.loss_module(
                cls_score[:, m],
                targets[:, m],
                avg_factor=cls_score.size(0),
                **kwargs) for m in range(self.num_heads))
        return dict(loss=loss)

    def _get_predictions(self, cls_score: torch.Tensor,
                         data_samples: Optional[List[DataSample]]):
        """Average the heads' softmax outputs."""
        head_scores = F.softmax(cls_score, dim=-1)
        pred_scores = head_scores.mean(dim=1)
        pred_labels = pred_scores.argmax(dim=1, keepdim=True).detach()
        if data_samples is None:
            data_samples = [None] * cls_score.size(0)
        out = []
        for sample, score, label, heads in zip(data_samples, pred_scores,
                                               pred_labels, head_scores):
            sample = sample if sample is not None else DataSample()
            sample.set_pred_score(score).set_pred_label(label)
            sample.set_field(heads, 'head_scores')
            out.append(sample)
        return out


@MODELS.register_module()
class MIMOClassifier(ImageClassifier):
    """MM-MIMO: one backbone on the concatenated slots, one head per slot.

    Slot ``m`` is channels ``[Σ_{k<m} c_k, Σ_{k≤m} c_k)`` of the input,
    ``c = slot_channels``. The backbone's ``in_channels`` is set to
    ``Σ c`` (mmpretrain's ResNet, medkd's ``SimpleConvNet`` and
    ``ShuffleNetV2MultiInput`` take it); the head (``MIMOClsHead`` by
    default) gets ``num_heads = M``. ``mode='tensor'`` returns ``(N, M, C)``
    logits; ``predict`` returns the averaged ``pred_score`` plus
    ``head_scores``.

    Args:
        backbone (dict): Backbone config.
        slot_channels (Sequence[int]): Channels of each slot, e.g.
            ``(3, 3, 3, 3)``. Defaults to ``(3, 3, 3, 3)``.
        neck (dict, optional): Neck config, e.g. ``GlobalAveragePooling``.
        head (dict): ``MIMOClsHead`` config; ``num_heads`` is filled in.
        **kwargs: Other arguments of
            :class:`mmpretrain.models.ImageClassifier`.
    """

    def __init__(self,
                 backbone: dict,
                 slot_channels: Sequence[int] = (3, 3, 3, 3),
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 **kwargs):
        slot_channels = tuple(int(c) for c in slot_channels)
        if not slot_channels or min(slot_channels) <= 0:
            raise ValueError('slot_channels must be positive channel counts, '
                             f'got {slot_channels}')
        backbone = dict(backbone)
        total = sum(slot_channels)
        if backbone.setdefault('in_channels', total) != total:
            raise ValueError(
                f'backbone.in_channels is {backbone["in_channels"]} but the '
                f'slots {slot_channels} have {total} channels in all.')
        head = dict(head or {})
        head.setdefault('type', 'MIMOClsHead')
        if head.setdefault('num_heads',
                           len(slot_channels)) != len(slot_channels):
            raise ValueError(f'head.num_heads is {head["num_heads"]} but '
                             f'there are {len(slot_channels)} slots.')
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.slot_channels = slot_channels

    @property
    def num_slots(self) -> int:
        return len(self.slot_channels)

    @property
    def num_classes(self) -> int:
        """Classes per head (the head has ``num_slots × num_classes``
        outputs)."""
        return self.head.num_classes

    def slot_slice(self, slot: int) -> slice:
        """The channels of slot ``slot`` in the packed input."""
        start = sum(self.slot_channels[:slot])
        return slice(start, start + self.slot_channels[slot])
