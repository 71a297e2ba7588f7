"""A classifier's backbone outputs and logits from one backbone pass."""
from typing import Tuple

import torch
import torch.nn as nn

__all__ = ['features_and_logits']


def features_and_logits(classifier: nn.Module, inputs: torch.Tensor
                        ) -> Tuple[Tuple[torch.Tensor, ...], torch.Tensor]:
    """Run a classifier's backbone once; return its outputs and the logits.

    The logits are ``head(neck((outputs[-1], )))``, so the last of the
    backbone's ``out_indices`` must be the stage the head reads (checked
    when feature pairs are built).

    Args:
        classifier (nn.Module): An mmpretrain ``ImageClassifier``-like model
            with ``backbone``, optional ``neck`` and ``head``.
        inputs (Tensor): ``(N, 3, H, W)`` normalised images.

    Returns:
        tuple: The backbone's outputs (one ``(N, C_i, H_i, W_i)`` map per
        ``out_indices`` entry) and the ``(N, num_classes)`` logits.
    """
    outputs = classifier.backbone(inputs)
    if not isinstance(outputs, (tuple, list)):
        outputs = (outputs, )
    last = (outputs[-1], )
    if getattr(classifier, 'neck', None) is not None:
        last = classifier.neck(last)
    return tuple(outputs), classifier.head(last)
