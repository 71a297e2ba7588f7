"""Model complexity: parameters, FLOPs, size on disk and CPU latency.

The numbers of the papers' complexity tables, computed for the student and
every teacher of a distiller (:func:`distiller_parts`) by
:func:`model_complexity`. FLOPs come from mmengine's complexity analysis,
which counts one multiply-add as one FLOP (a ``Conv2d`` without bias costs
``C_in * C_out * k_h * k_w * H_out * W_out``, a ``Linear``
``in_features * out_features``).
"""
import inspect
import io
import logging
import statistics
import time
from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info
from mmengine.logging import MMLogger

from medkd.models.distillers import is_distiller

__all__ = ['TensorModeWrapper', 'distiller_parts', 'model_complexity',
           'state_dict_size_mb']


class TensorModeWrapper(nn.Module):
    """``forward(x)`` returning ``model(x, mode='tensor')`` (the logits of an
    mmpretrain classifier or a medkd distiller's student), so that tracers,
    exporters and Grad-CAM see a plain ``(N, 3, H, W) -> (N, C)`` module.

    Args:
        model (nn.Module): An mmengine model taking ``mode=``.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, mode='tensor')


def distiller_parts(model: nn.Module) -> Dict[str, nn.Module]:
    """The deployable networks of a model, by name.

    Args:
        model (nn.Module): A distiller (with ``.student`` and ``.teachers``)
            or a single classifier.

    Returns:
        dict[str, nn.Module]: ``{'student': ..., '<teacher>': ...}`` in the
        teachers' order for a distiller, ``{'model': model}`` otherwise.
    """
    if not is_distiller(model):
        return {'model': model}
    parts = {'student': model.student}
    parts.update((name, teacher.model)
                 for name, teacher in model.teachers.items())
    return parts


def state_dict_size_mb(model: nn.Module) -> float:
    """Size in MB (2**20 bytes) of ``torch.save(model.state_dict())`` with
    floating-point tensors stored as float32, measured in memory."""
    state = {
        key: value.float() if value.is_floating_point() else value
        for key, value in model.state_dict().items()
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes / 2**20


def model_complexity(model: nn.Module,
                     input_shape: Sequence[int] = (3, 224, 224),
                     repeats: int = 20,
                     warmup: int = 3) -> Dict[str, float]:
    """Parameters, FLOPs, float32 size and CPU latency of one classifier.

    Args:
        model (nn.Module): A classifier taking ``mode='tensor'`` (an
            mmpretrain ``ImageClassifier``) or a plain ``forward(x)`` module.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
            Defaults to (3, 224, 224).
        repeats (int): Timed forward passes; the latency is their median.
            0 skips the timing (``latency_ms`` is NaN). Defaults to 20.
        warmup (int): Untimed passes before the timed ones. Defaults to 3.

    Returns:
        dict: ``params`` (count), ``flops`` (multiply-adds of one image),
        ``size_mb`` (float32 state dict as saved by :func:`torch.save`, MB
        of 2**20 bytes) and ``latency_ms`` (median CPU time of a batch-1
        forward under ``torch.no_grad``, in milliseconds).
    """
    wrapped = _plain_forward(model)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logger = MMLogger.get_current_instance()
    level = logger.level
    # mmengine warns once per unsupported op (pooling, activations), which
    # add no multiply-adds: keep the table readable.
    logger.setLevel(logging.ERROR)
    try:
        analysis = get_model_complexity_info(
            wrapped,
            inputs=(torch.randn(1, *input_shape, device=device), ),
            show_table=False,
            show_arch=False)
    finally:
        logger.setLevel(level)
    result = dict(
        params=sum(p.numel() for p in model.parameters()),
        flops=analysis['flops'],
        size_mb=state_dict_size_mb(model),
        latency_ms=_cpu_latency_ms(wrapped, input_shape, repeats, warmup))
    model.train(was_training)
    return result


def _plain_forward(model: nn.Module) -> nn.Module:
    """``model`` itself if its forward takes no ``mode``, else wrapped."""
    takes_mode = 'mode' in inspect.signature(model.forward).parameters
    return TensorModeWrapper(model) if takes_mode else model


@torch.no_grad()
def _cpu_latency_ms(model: nn.Module, input_shape: Sequence[int],
                    repeats: int, warmup: int) -> float:
    """Median wall time of a batch-1 forward on the CPU, in ms."""
    if repeats <= 0:
        return float('nan')
    device = next(model.parameters()).device
    model = model.cpu()
    x = torch.randn(1, *input_shape)
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - start) * 1000)
    model.to(device)
    return statistics.median(times)
