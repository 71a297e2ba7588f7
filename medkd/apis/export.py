"""Deployment: the student as an ONNX graph, checked against PyTorch."""
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import ConfigDict

from medkd.models.distillers.base import load_classifier_weights
from medkd.registry import MODELS
from medkd.utils.complexity import TensorModeWrapper

__all__ = ['build_student', 'export_onnx']


def build_student(model_cfg: dict,
                  checkpoint: Optional[str] = None) -> nn.Module:
    """Build the deployable classifier of a config, optionally with weights.

    Only the student of a distiller config is built (its teachers and their
    checkpoints are not needed).

    Args:
        model_cfg (dict): A config's ``model``: a distiller (with a
            ``student`` key) or a classifier.
        checkpoint (str, optional): A distiller checkpoint (its ``student.``
            weights are used) or the classifier's own checkpoint, read with
            ``torch.load(weights_only=True)``. Defaults to None (initial
            weights).

    Returns:
        nn.Module: The classifier in ``eval()`` mode.
    """
    model_cfg = ConfigDict(model_cfg)
    classifier_cfg = model_cfg.get('student', model_cfg)
    student = MODELS.build(classifier_cfg)
    if checkpoint:
        load_classifier_weights(student, checkpoint, 'student')
    else:
        student.init_weights()
    return student.eval()


def export_onnx(model: nn.Module,
                path: str,
                input_shape: Sequence[int] = (3, 224, 224),
                opset: int = 17,
                check_batch: int = 3) -> float:
    """Export a classifier's logits to ONNX and check them with onnxruntime.

    The graph has one input ``input`` ``(N, C, H, W)`` (already normalised,
    as after the data preprocessor) and one output ``logits`` ``(N,
    num_classes)``, with a dynamic batch axis ``N``. The export uses torch's
    TorchScript-based exporter; the check runs a batch of a size other than
    the traced one, so the dynamic axis is exercised.

    Args:
        model (nn.Module): A classifier or a distiller (its ``'tensor'`` mode
            is exported: a distiller's is the student's logits).
        path (str): Output ``.onnx`` file.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
            Defaults to (3, 224, 224).
        opset (int): ONNX opset version. Defaults to 17.
        check_batch (int): Batch size of the random check input.
            Defaults to 3.

    Returns:
        float: Max absolute difference between onnxruntime's and PyTorch's
        logits on the random check batch.
    """
    import onnxruntime

    wrapped = TensorModeWrapper(model).cpu().eval()
    dummy = torch.randn(2, *input_shape)
    with torch.no_grad():
        torch.onnx.export(
            wrapped, (dummy, ),
            path,
            dynamo=False,
            input_names=['input'],
            output_names=['logits'],
            dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
            opset_version=opset)
        check = torch.randn(check_batch, *input_shape)
        expected = wrapped(check).numpy()
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    (logits, ) = session.run(['logits'], {'input': check.numpy()})
    if logits.shape != expected.shape:
        raise RuntimeError(f'{path}: onnxruntime returned logits of shape '
                           f'{logits.shape}, PyTorch {expected.shape}')
    return float(np.abs(logits - expected).max())
