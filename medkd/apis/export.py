"""Deployment: the student as an ONNX graph, checked against PyTorch, with
the preprocessing it needs written beside it (or baked into it)."""
import json
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

from medkd.evaluation.dumped_results import config_class_names
from medkd.models.calibration import (attach_calibration, build_calibration,
                                      model_calibration)
from medkd.models.head_kind import head_kind
from medkd.utils.checkpoint import load_classifier_weights
from medkd.registry import MODELS
from medkd.utils.checkpoint import safe_load
from medkd.apis.complexity import TensorModeWrapper

__all__ = [
    'build_student', 'export_onnx', 'WithPreprocessing', 'normalisation',
    'deployment_info', 'DEPLOYABLE_TRANSFORMS'
]

#: Test-pipeline steps that ``tools/deployment/onnx_infer.py`` applies
#: itself (loading and packing are implied).
DEPLOYABLE_TRANSFORMS = ('Resize', 'CenterCrop')


def build_student(model_cfg: dict,
                  checkpoint: Optional[str] = None) -> nn.Module:
    """Build the deployable classifier of a config, optionally with weights.

    Only the student of a distiller config is built (its teachers and their
    checkpoints are not needed). A checkpoint with ``meta['calibration']``
    gives a calibrated student: its ``mode='tensor'`` logits, and so the
    exported graph's, are divided by the fitted temperature.

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
        calibration = (safe_load(checkpoint).get('meta')
                       or {}).get('calibration')
        if calibration:  # the exported logits are the calibrated ones
            attach_calibration(student, build_calibration(calibration))
    else:
        student.init_weights()
    return student.eval()


def normalisation(
        preprocessor: nn.Module
) -> Tuple[Optional[List[float]], Optional[List[float]], bool]:
    """``(mean, std, to_rgb)`` of a built ``ClsDataPreprocessor``; mean
    and std are None when it does not normalise."""
    to_rgb = bool(getattr(preprocessor, 'to_rgb', False))
    if not getattr(preprocessor, '_enable_normalize', False):
        return None, None, to_rgb
    return (preprocessor.mean.view(-1).tolist(),
            preprocessor.std.view(-1).tolist(), to_rgb)


class WithPreprocessing(nn.Module):
    """A classifier behind its data preprocessing, for export.

    Takes ``(N, H, W, C)`` ``uint8`` images as ``LoadImageFromFile`` gives
    them (BGR for colour images) after the test pipeline's resizing, and
    does what mmpretrain's ``ClsDataPreprocessor`` does before the network:
    channels first, BGR → RGB when ``to_rgb`` (3 channels only), float,
    ``(x - mean) / std``.
    """

    def __init__(self, model: nn.Module, mean: Optional[Sequence[float]],
                 std: Optional[Sequence[float]], to_rgb: bool):
        super().__init__()
        self.model = TensorModeWrapper(model)
        self.to_rgb = to_rgb
        self.normalise = mean is not None
        if self.normalise:
            self.register_buffer('mean',
                                 torch.tensor(mean).view(1, -1, 1, 1))
            self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2)
        if self.to_rgb and x.shape[1] == 3:
            x = x.flip(1)
        x = x.float()
        if self.normalise:
            x = (x - self.mean) / self.std
        return self.model(x)


def _test_pipeline(cfg: Config) -> list:
    loader = cfg.get('test_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline') or cfg.get(
        'test_pipeline') or []
    return [dict(step) for step in pipeline]


def deployment_info(cfg: Config, model: nn.Module,
                    input_shape: Sequence[int], baked: bool) -> dict:
    """What a deployment needs besides the graph (the ``<out>.json``
    sidecar, in the spirit of mmdeploy's ``pipeline.json``).

    Raises:
        ValueError: when the config's test pipeline has a step other than
            loading, :data:`DEPLOYABLE_TRANSFORMS` and packing, naming it.
    """
    mean, std, to_rgb = normalisation(model.data_preprocessor)
    pipeline = _test_pipeline(cfg)
    load = next((s for s in pipeline if s['type'] == 'LoadImageFromFile'),
                {})
    steps = [
        s for s in pipeline
        if s['type'] not in ('LoadImageFromFile', 'PackInputs')
    ]
    for step in steps:
        if step['type'] not in DEPLOYABLE_TRANSFORMS or step.get(
                'keep_ratio'):
            raise ValueError(
                f'test_dataloader.dataset.pipeline step {step} cannot be '
                'written for deployment: supported are LoadImageFromFile, '
                f'{", ".join(DEPLOYABLE_TRANSFORMS)} (fixed sizes) and '
                'PackInputs.')
    kind = head_kind(model)
    calibration = model_calibration(model)
    return dict(
        input_name='input',
        output_name='logits',
        # temperature scaling is in the graph: its logits are z / T
        calibration=None if calibration is None else dict(
            calibration.to_meta(), applied_in_graph=True),
        preprocessing_in_graph=baked,
        input=('(N, H, W, C) uint8, as LoadImageFromFile gives the image '
               'after the test pipeline' if baked else
               '(N, C, H, W) float32 after the data preprocessor: channel '
               'order, mean and std below'),
        input_size=list(input_shape[1:]),
        num_channels=int(input_shape[0]),
        color_type=load.get('color_type', 'color'),
        channel_order='bgr',
        to_rgb=to_rgb,
        mean=mean,
        std=std,
        test_pipeline=steps,
        class_names=config_class_names(cfg),
        head_kind=kind,
        probabilities='sigmoid' if kind == 'multi_label' else 'softmax')


def export_onnx(model: nn.Module,
                path: str,
                input_shape: Sequence[int] = (3, 224, 224),
                opset: int = 17,
                check_batch: int = 3,
                bake_preprocessing: bool = False) -> float:
    """Export a classifier's logits to ONNX and check them with onnxruntime.

    The graph has one input ``input`` and one output ``logits`` ``(N,
    num_classes)``, with a dynamic batch axis ``N``. The input is ``(N, C,
    H, W)`` float, normalised as after the data preprocessor, or with
    ``bake_preprocessing`` ``(N, H, W, C)`` ``uint8`` images
    (:class:`WithPreprocessing`). The export uses torch's TorchScript-based
    exporter; the check runs a batch of a size other than the traced one,
    so the dynamic axis is exercised.

    Args:
        model (nn.Module): A classifier (with its data preprocessor).
        path (str): Output ``.onnx`` file.
        input_shape (Sequence[int]): ``(C, H, W)`` of one image.
            Defaults to (3, 224, 224).
        opset (int): ONNX opset version. Defaults to 17.
        check_batch (int): Batch size of the random check input.
            Defaults to 3.
        bake_preprocessing (bool): Put the preprocessor in the graph.
            Defaults to False.

    Returns:
        float: Max absolute difference between onnxruntime's and PyTorch's
        logits on the random check batch.
    """
    import onnxruntime

    if bake_preprocessing:
        wrapped = WithPreprocessing(model,
                                    *normalisation(model.data_preprocessor))
        channels, height, width = input_shape

        def sample(n):
            return torch.randint(0, 256, (n, height, width, channels),
                                 dtype=torch.uint8)
    else:
        wrapped = TensorModeWrapper(model)

        def sample(n):
            return torch.randn(n, *input_shape)

    wrapped = wrapped.cpu().eval()
    with torch.no_grad():
        torch.onnx.export(
            wrapped, (sample(2), ),
            path,
            dynamo=False,
            input_names=['input'],
            output_names=['logits'],
            dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
            opset_version=opset)
        check = sample(check_batch)
        expected = wrapped(check).numpy()
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    (logits, ) = session.run(['logits'], {'input': check.numpy()})
    if logits.shape != expected.shape:
        raise RuntimeError(f'{path}: onnxruntime returned logits of shape '
                           f'{logits.shape}, PyTorch {expected.shape}')
    return float(np.abs(logits - expected).max())


def write_sidecar(path: str, info: dict) -> str:
    """Write ``info`` to ``<path without .onnx>.json``; returns its path."""
    import os.path as osp
    sidecar = osp.splitext(path)[0] + '.json'
    with open(sidecar, 'w') as f:
        json.dump(info, f, indent=2)
    return sidecar
