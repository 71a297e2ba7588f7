"""The one head-kind vocabulary of medkd: ``'softmax'`` (one class per
sample) or ``'multi_label'`` (one sigmoid per label). Distillers, teachers,
gates, losses and metrics all use these two words and these functions."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import MultiLabelClsHead

__all__ = ['HEAD_KINDS', 'head_kind', 'head_num_classes', 'check_head',
           'to_probs']

HEAD_KINDS = ('softmax', 'multi_label')


def head_num_classes(classifier: nn.Module) -> Optional[int]:
    """The number of outputs of a classifier's head, if it declares one."""
    head = getattr(classifier, 'head', None)
    return getattr(head, 'num_classes', None)


def head_kind(classifier: nn.Module) -> str:
    """``'multi_label'`` (mmpretrain's ``MultiLabelClsHead`` family: one
    sigmoid per label) or ``'softmax'``. One-logit single-label heads are
    refused by :func:`check_head`."""
    head = getattr(classifier, 'head', None)
    return 'multi_label' if isinstance(head,
                                       MultiLabelClsHead) else 'softmax'


def check_head(classifier: nn.Module, key: str) -> None:
    """Refuse a one-logit single-label ("binary BCE") head.

    mmpretrain's ``LinearClsHead(num_classes=1,
    loss=CrossEntropyLoss(use_sigmoid=True))`` rejects integer labels, and a
    softmax over one logit is constant, so every soft-label loss would be 0.
    The two-class softmax head is the same model: ``softmax((z0, z1))_1 =
    σ(z1 - z0)``.

    Args:
        classifier (nn.Module): The classifier to check.
        key (str): Its config key, for the error (``model.student``).
    """
    if head_kind(classifier) == 'softmax' and \
            head_num_classes(classifier) == 1:
        raise ValueError(
            f'{key}.head has num_classes=1 (a one-logit sigmoid "binary BCE" '
            'head), which mmpretrain\'s single-label heads cannot train and '
            'no softmax distillation loss can use. Use the equivalent '
            "two-class softmax head, dict(type='LinearClsHead', "
            'num_classes=2, ...) (softmax of two logits = sigmoid of their '
            "difference), or dict(type='MultiLabelLinearClsHead', "
            'num_classes=1) with list labels.')


def to_probs(logits: torch.Tensor, kind: str,
             temperature: float = 1.0) -> torch.Tensor:
    """``softmax(z / T)`` over the last dimension, or ``σ(z / T)`` for
    ``kind='multi_label'``."""
    if kind == 'multi_label':
        return torch.sigmoid(logits / temperature)
    return F.softmax(logits / temperature, dim=-1)
