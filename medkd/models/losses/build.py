"""Building a distiller's soft-label loss, checked against the student."""
from typing import Optional

import torch.nn as nn
from mmengine.logging import MMLogger

from medkd.models.head_kind import head_kind, head_num_classes
from medkd.registry import MODELS

__all__ = ['build_kd_loss', 'check_loss_weights']


def check_loss_weights(**weights: float) -> tuple:
    """Check the loss weights of a distiller (``cls_weight``,
    ``kd_weight``, ...) are finite non-negative numbers; return them in
    order."""
    for key, value in weights.items():
        if not isinstance(value, (int, float)) or not 0 <= value < float(
                'inf'):
            raise ValueError(f'model.{key} must be a finite number >= 0, got '
                             f'{value!r}.')
    return tuple(float(v) for v in weights.values())


def build_kd_loss(kd_loss: Optional[dict],
                  classifier: nn.Module,
                  temperature: float,
                  key: str = 'kd_loss',
                  batch_augments: bool = False) -> nn.Module:
    """Build a distiller's soft-label loss and check it fits the head.

    ``kd_loss=None`` means the same in every distiller: ``KDLoss`` for
    softmax heads and ``SoftBCELoss`` (its own defaults: no ``T²``) for
    sigmoid heads, at the distiller's ``default_temperature``.

    A loss that cannot train the head is refused: on a two-class softmax
    head the z-scored logits of ``LogitStdKDLoss`` are always ``(±1/√2,
    ∓1/√2)`` (constant, gradient ~1e-8), so it is an error; DIST's
    inter-class Pearson term is ``±1`` there (its gradient comes from its
    ``eps`` only), so it is dropped (``beta = 0``, the intra-class term
    trains the student) with a logged notice. A loss that reads the class
    label (``needs_labels``, e.g. DKD's target class) is refused with batch
    augments (Mixup / CutMix), whose label is a mixture of two.

    Args:
        kd_loss (dict, optional): The loss config, see above for None.
        classifier (nn.Module): The student.
        temperature (float): Temperature of the default loss.
        key (str): How errors name the config key. Defaults to
            ``'kd_loss'``.
        batch_augments (bool): Whether the distiller mixes its batches
            (Mixup / CutMix). Defaults to False.

    Raises:
        ValueError: The loss does not apply to the student's head kind
            (e.g. a softmax loss for a multi-label head).
    """
    kind = head_kind(classifier)
    sigmoid = kind == 'multi_label'
    if kd_loss is None:
        kd_loss = dict(type='SoftBCELoss' if sigmoid else 'KDLoss',
                       temperature=temperature)
    loss = MODELS.build(kd_loss)
    kinds = getattr(loss, 'head_kinds', ('softmax', 'multi_label'))
    name = type(loss).__name__
    if kind not in kinds:
        fitting = ('SoftBCELoss or MultiLabelDISTLoss' if sigmoid else
                   'KDLoss, LogitStdKDLoss, DKDLoss or DISTLoss')
        raise ValueError(
            f'model.{key}: {name} applies to {kinds} heads, but the '
            f"student's head is {kind!r}; use {fitting} for this head.")
    num_classes = head_num_classes(classifier)
    if not sigmoid and num_classes == 2 and name == 'LogitStdKDLoss':
        raise ValueError(
            f'model.{key}: LogitStdKDLoss cannot train a 2-class softmax '
            'student: z-scored 2-vectors are always (±1/√2, ∓1/√2), so the '
            'loss is constant (gradient ~1e-8). Use DISTLoss (its '
            'intra-class term), KDLoss or DKDLoss for a binary task.')
    if not sigmoid and num_classes == 2 and name == 'DISTLoss' and \
            loss.beta:
        MMLogger.get_current_instance().warning(
            f'model.{key}: DISTLoss on a 2-class softmax student: its '
            'inter-class Pearson term is ±1 for every sample (no gradient), '
            f'so it is dropped (beta {loss.beta} -> 0); the intra-class term '
            'trains the student.')
        loss.beta = 0.0
    if sigmoid and name == 'MultiLabelDISTLoss' and loss.beta and \
            num_classes == 1:
        raise ValueError(
            f'model.{key}: MultiLabelDISTLoss on a one-label sigmoid student: '
            "the inter-label term correlates each sample's label scores, "
            f'which needs at least 2 labels. Set {key}.beta=0 (the '
            'intra-label term alone) or use SoftBCELoss.')
    if batch_augments and getattr(loss, 'needs_labels', False):
        raise ValueError(
            f"model.{key}: {name} reads each sample's class label, but "
            'the batches are mixed (Mixup / CutMix batch augments), whose '
            "label is a mixture of two classes (mmpretrain keeps the first "
            "image's in gt_label). Remove the batch augments, or use "
            'a loss that needs no label (DISTLoss, KDLoss, LogitStdKDLoss).')
    return loss
