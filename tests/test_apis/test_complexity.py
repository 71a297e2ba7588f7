import math

import torch
import torch.nn as nn

from medkd.registry import MODELS
from medkd.apis.complexity import (TensorModeWrapper, distiller_parts,
                                    model_complexity, state_dict_size_mb)
from conftest import tiny_classifier


def test_flops_are_multiply_adds_of_conv_and_linear():
    # Conv 3->4, 3x3, no bias, on 8x8 (padding 1): 3*4*9 MACs per pixel;
    # Linear 4*8*8 -> 2: 256*2 MACs. mmengine counts one MAC as one FLOP.
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.Flatten(),
        nn.Linear(4 * 8 * 8, 2))
    stats = model_complexity(model, (3, 8, 8), repeats=0)
    assert stats['flops'] == 3 * 4 * 9 * 64 + 256 * 2
    assert stats['params'] == 3 * 4 * 9 + 256 * 2 + 2
    assert math.isnan(stats['latency_ms'])


def test_classifier_params_size_and_tensor_mode(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(tiny_classifier(channels=(8, 16)))
    stats = model_complexity(model, (3, 16, 16), repeats=2, warmup=1)
    assert stats['params'] == sum(p.numel() for p in model.parameters())
    # the classifier's FLOPs are at least its convolutions' and head's MACs
    convs = 3 * 8 * 9 * 16 * 16 + 8 * 16 * 9 * 8 * 8
    assert convs + 16 * 3 <= stats['flops'] < 1.2 * (convs + 16 * 3)
    path = tmp_path / 'model.pth'
    torch.save(model.state_dict(), path)
    on_disk = path.stat().st_size / 2**20
    assert abs(stats['size_mb'] - on_disk) < 0.05 * on_disk
    assert set(stats) == {'params', 'flops', 'size_mb', 'latency_ms'}
    assert model.training  # the mode is restored


def test_size_is_float32_whatever_the_dtype():
    model = nn.Linear(300, 300)
    size = state_dict_size_mb(model)
    assert state_dict_size_mb(model.half()) == size
    # 4 bytes per value plus the zip archive's few kB
    assert abs(size - 301 * 300 * 4 / 2**20) < 0.01 * size


def test_distiller_parts_and_wrapper():
    kd = MODELS.build(
        dict(type='VanillaKD', student=tiny_classifier(),
             teachers=dict(big=dict(model=tiny_classifier(channels=(8, 16)),
                                    ckpt=None))))
    parts = distiller_parts(kd)
    assert list(parts) == ['student', 'big']
    assert parts['student'] is kd.student and parts['big'] is kd.teachers.big.model
    assert distiller_parts(kd.student) == {'model': kd.student}
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(
        TensorModeWrapper(kd.student)(x), kd.student(x, mode='tensor'))
