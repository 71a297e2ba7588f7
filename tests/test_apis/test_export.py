import os.path as osp
import runpy
import sys

import numpy as np
import onnxruntime
import pytest
import torch

from medkd.apis.export import build_student, export_onnx
from medkd.registry import MODELS
from conftest import tiny_classifier

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KD = dict(type='VanillaKD', student=tiny_classifier(),
          teachers=dict(big=dict(model=tiny_classifier(channels=(8, 16)),
                                 ckpt=None)))


@pytest.fixture
def distiller_ckpt(tmp_path):
    torch.manual_seed(0)
    kd = MODELS.build(KD)
    kd.init_weights()
    path = tmp_path / 'kd.pth'
    torch.save({'state_dict': kd.state_dict(), 'meta': {}}, path)
    return str(path), kd


def test_export_student_of_distiller_checkpoint(tmp_path, distiller_ckpt):
    ckpt, kd = distiller_ckpt
    student = build_student(KD, ckpt)
    for key, value in kd.student.state_dict().items():
        torch.testing.assert_close(student.state_dict()[key], value)

    path = str(tmp_path / 'student.onnx')
    diff = export_onnx(student, path, (3, 16, 16), opset=17)
    assert diff < 1e-4

    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    x = torch.randn(3, 3, 16, 16)  # the export traced batch 2
    (logits, ) = session.run(None, {'input': x.numpy()})
    assert logits.shape == (3, 3)
    expected = kd.student.eval()(x, mode='tensor').detach().numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_build_student_takes_a_plain_student_checkpoint(tmp_path):
    torch.manual_seed(1)
    model = MODELS.build(tiny_classifier())
    path = tmp_path / 'student.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    student = build_student(tiny_classifier(), str(path))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(student.state_dict()[key], value)
    with pytest.raises(RuntimeError, match='does not fit'):
        build_student(tiny_classifier(num_classes=5), str(path))


def test_pytorch2onnx_tool(tmp_path, distiller_ckpt, monkeypatch, capsys):
    ckpt, _ = distiller_ckpt
    config = tmp_path / 'kd.py'
    config.write_text(f'model = {KD!r}\n')
    out = tmp_path / 'student.onnx'
    monkeypatch.setattr(sys, 'argv', [
        'pytorch2onnx.py', str(config), ckpt, '--out', str(out), '--shape',
        '16', '16'
    ])
    runpy.run_path(osp.join(ROOT, 'tools/deployment/pytorch2onnx.py'),
                   run_name='__main__')
    printed = capsys.readouterr().out
    assert 'max abs difference onnxruntime vs PyTorch' in printed
    diff = float(printed.split('PyTorch: ')[1].split()[0])
    assert diff < 1e-4 and out.stat().st_size > 1000

    # an impossible tolerance makes the tool fail
    monkeypatch.setattr(sys, 'argv', sys.argv + ['--atol', '-1'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(osp.join(ROOT, 'tools/deployment/pytorch2onnx.py'),
                       run_name='__main__')
    assert exit_info.value.code == 1
