"""ONNX deployment: the graph carries or describes its preprocessing, and
tools/deployment/onnx_infer.py gives tools/test.py's scores for the same
images; extract_student.py keeps the preprocessing in meta."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import run_tool
from medkd.apis.inference import model_config
from medkd.evaluation.dumped_results import load_results
from medkd.registry import MODELS

pytest.importorskip('onnxruntime')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/demo/convnet_student_cells.py'
KD = 'configs/demo/kd_convnet_wide_convnet_cells.py'
# unequal per-channel mean / std, so a wrong channel order shows
PREPROCESSOR = ("data_preprocessor = dict(mean=[100.0, 127.5, 150.0], "
                "std=[50.0, 64.0, 70.0], to_rgb=True)")


def config(tmp_path, base=STUDENT, name='student.py'):
    """``base`` on 20-pixel cells whose test pipeline resizes to 18 and
    centre-crops 16."""
    data = str(tmp_path / 'data')
    pipeline = ("[dict(type='LoadImageFromFile'), dict(type='Resize', "
                "scale=(18, 18)), dict(type='CenterCrop', crop_size=16), "
                "dict(type='PackInputs')]")
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={data!r}, num_per_class=(8, 4, 4), "
              f"image_size=20, pipeline={pipeline}))")
    path = tmp_path / name
    path.write_text('\n'.join([
        f'_base_ = [{osp.join(ROOT, base)!r}]',
        f'train_dataloader = {loader}', f'val_dataloader = {loader}',
        f'test_dataloader = {loader}', PREPROCESSOR, ''
    ]))
    return str(path)


#: A calibrated checkpoint's meta (tools/test.py and ONNX both apply it).
CALIBRATED = dict(calibration=dict(type='TemperatureScaling',
                                   per_label=False, temperature=0.05,
                                   fitted_on='val'))


@pytest.fixture(params=[{}, CALIBRATED], ids=['raw', 'calibrated'])
def student(tmp_path, monkeypatch, request):
    cfg_path = config(tmp_path)
    torch.manual_seed(0)
    model = MODELS.build(model_config(Config.fromfile(cfg_path)))
    model.init_weights()
    ckpt = tmp_path / 'student.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=request.param), ckpt)
    run_tool(monkeypatch, 'test.py', cfg_path, ckpt, '--work-dir',
             tmp_path / 'test', '--out', tmp_path / 'results.pkl')
    results = load_results(str(tmp_path / 'results.pkl'))
    return cfg_path, ckpt, results


@pytest.mark.parametrize('bake', [False, True])
def test_onnx_infer_gives_the_test_tools_scores(student, tmp_path,
                                                monkeypatch, bake):
    cfg_path, ckpt, results = student
    onnx = tmp_path / 'model.onnx'
    run_tool(monkeypatch, 'deployment/pytorch2onnx.py', cfg_path, ckpt,
             '--out', onnx, '--shape', 16, 16,
             *(['--bake-preprocessing'] if bake else []))
    info = json.loads((tmp_path / 'model.json').read_text())
    assert info['preprocessing_in_graph'] is bake
    assert info['mean'] == [100.0, 127.5, 150.0]
    assert info['std'] == [50.0, 64.0, 70.0]
    assert info['to_rgb'] is True and info['channel_order'] == 'bgr'
    assert info['input_size'] == [16, 16]
    assert info['class_names'] == [
        'neutrophil', 'lymphocyte', 'eosinophil', 'monocyte']
    assert info['head_kind'] == 'softmax'
    assert [s['type'] for s in info['test_pipeline']] == [
        'Resize', 'CenterCrop']
    calibrated = 'pred_score_uncalibrated' in results[0]
    assert (info['calibration'] or {}).get('temperature') == (
        0.05 if calibrated else None)
    images = [r['img_path'] for r in results]
    out = tmp_path / 'probs.json'
    run_tool(monkeypatch, 'deployment/onnx_infer.py', onnx, *images,
             '--json', out)
    probs = json.loads(out.read_text())
    expected = np.stack([np.asarray(r['pred_score']) for r in results])
    found = np.stack([probs[p] for p in images])
    np.testing.assert_allclose(found, expected, atol=1e-4)
    # the scores depend on the image: not a constant
    assert np.ptp(expected[:, 0]) > 1e-3
    if calibrated:  # softmax(log p / T) of tools/test.py's raw scores
        raw = np.stack([np.asarray(r['pred_score_uncalibrated'])
                        for r in results]).astype(np.float64)
        z = np.log(raw) / 0.05
        sharpened = np.exp(z - z.max(1, keepdims=True))
        sharpened /= sharpened.sum(1, keepdims=True)
        np.testing.assert_allclose(found, sharpened, atol=1e-4)
        assert found.max(1).mean() > raw.max(1).mean() + 0.05


def test_export_refuses_a_shape_the_test_pipeline_does_not_give(
        student, tmp_path, monkeypatch):
    cfg_path, ckpt, _ = student
    with pytest.raises(SystemExit, match='--shape 16 16'):
        run_tool(monkeypatch, 'deployment/pytorch2onnx.py', cfg_path, ckpt,
                 '--out', tmp_path / 'm.onnx', '--shape', 20, 20)


def test_extract_student_keeps_the_preprocessing_in_meta(tmp_path,
                                                         monkeypatch):
    cfg_path = config(tmp_path, KD, 'kd.py')
    cfg = Config.fromfile(cfg_path)
    cfg.model.teachers.convnet_wide.ckpt = None  # random teacher
    model = MODELS.build(cfg.model)
    # a distiller checkpoint as the Runner writes it: meta['cfg'] is the
    # config text
    ckpt = tmp_path / 'kd.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(cfg=cfg.pretty_text, epoch=3)), ckpt)
    run_tool(monkeypatch, 'model_converters/extract_student.py', ckpt,
             tmp_path / 'out.pth')
    out = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert out['meta']['epoch'] == 3
    pre = out['meta']['data_preprocessor']
    assert list(pre['mean']) == [100.0, 127.5, 150.0]
    assert list(pre['std']) == [50.0, 64.0, 70.0] and pre['to_rgb'] is True
    assert [s['type'] for s in out['meta']['test_pipeline']] == [
        'LoadImageFromFile', 'Resize', 'CenterCrop', 'PackInputs']
    assert set(out['state_dict']) == set(model.student.state_dict())
