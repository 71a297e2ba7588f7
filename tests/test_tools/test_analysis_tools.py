import json
import os.path as osp

import cv2
import mmengine
import numpy as np
import pytest
import torch
from mmengine.config import Config

from medkd.evaluation.metrics.medical_metric import compute_medical_metrics
from medkd.registry import MODELS
from medkd.models.teachers import teacher_model_config
from conftest import run_tool, write_tiny_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KD = 'configs/demo/kd_resnet18_convnet_cells.py'
CELLS = ['neutrophil', 'lymphocyte', 'eosinophil', 'monocyte']


def table_rows(text):
    """``{first cell: [other cells]}`` of the rows of AsciiTables."""
    rows = [[c.strip() for c in line.split('|')[1:-1]]
            for line in text.splitlines() if line.startswith('| ')]
    return {row[0]: row[1:] for row in rows}


def test_get_flops_rows_for_student_and_teacher(monkeypatch, capsys):
    # the teacher's checkpoint in the config does not exist: not needed
    run_tool(monkeypatch, 'analysis_tools/get_flops.py', osp.join(ROOT, KD),
             '--shape', 32, 32, '--repeats', 1, '--cfg-options',
             'model.teachers.resnet18.ckpt=None')
    out = capsys.readouterr().out
    model = Config.fromfile(osp.join(ROOT, KD)).model
    rows = table_rows(out)
    entry = model.teachers.resnet18
    teacher_model, _ = teacher_model_config(
        'resnet18', entry.get('config'), entry.get('model'))
    for name, cfg in (('student', model.student),
                      ('resnet18', teacher_model)):
        params = sum(p.numel() for p in MODELS.build(cfg).parameters())
        assert rows[name][0] == '3x32x32'
        assert rows[name][1] == f'{params / 1e6:.4g}'
    # ResNet-18 at 32 px: ~0.037 GMACs (1.82 G at 224 px scales by 1/49)
    assert 0.03 < float(rows['resnet18'][2]) < 0.045
    assert float(rows['resnet18'][3]) > 40  # 11.2 M float32 values


# 4 classes; rows: true class, scores. Predictions are the arg-max.
SAMPLES = [
    (0, [0.7, 0.1, 0.1, 0.1]),
    (0, [0.6, 0.2, 0.1, 0.1]),
    (0, [0.2, 0.5, 0.2, 0.1]),
    (1, [0.1, 0.8, 0.05, 0.05]),
    (1, [0.4, 0.3, 0.2, 0.1]),
    (2, [0.1, 0.1, 0.7, 0.1]),
    (3, [0.1, 0.1, 0.6, 0.2]),
    (3, [0.1, 0.1, 0.1, 0.7]),
]
# true \ pred counts of SAMPLES, by hand
COUNTS = [[2, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]


@pytest.fixture
def results_pkl(tmp_path):
    results = [
        dict(pred_score=torch.tensor(score),
             pred_label=torch.tensor([int(np.argmax(score))]),
             gt_label=torch.tensor([label])) for label, score in SAMPLES
    ]
    path = tmp_path / 'results.pkl'
    mmengine.dump(results, str(path))
    return path


def test_confusion_matrix_counts_and_class_names(results_pkl, tmp_path,
                                                 monkeypatch, capsys):
    png = tmp_path / 'cm.png'
    run_tool(monkeypatch, 'analysis_tools/confusion_matrix.py',
             osp.join(ROOT, KD), results_pkl, '--out-png', png)
    out = capsys.readouterr().out
    counts_table, percent_table = out.split('row-normalised')[:2]
    counts, percent = table_rows(counts_table), table_rows(percent_table)
    for name, row in zip(CELLS, COUNTS):  # names from the config's dataset
        assert [int(c) for c in counts[name]] == row
        np.testing.assert_allclose([float(c) for c in percent[name]],
                                   [100 * c / sum(row) for c in row],
                                   atol=0.05)
    assert osp.getsize(png) > 1000

    run_tool(monkeypatch, 'analysis_tools/confusion_matrix.py',
             osp.join(ROOT, KD), results_pkl, '--classes', 'a', 'b', 'c', 'd')
    counts = table_rows(capsys.readouterr().out.split('row-normalised')[0])
    assert counts['c'] == ['0', '0', '1', '0']


def test_metrics_report_matches_compute_medical_metrics(
        results_pkl, tmp_path, monkeypatch, capsys):
    out_json = tmp_path / 'metrics.json'
    run_tool(monkeypatch, 'analysis_tools/metrics_report.py', results_pkl,
             '--classes', 'a', 'b', 'c', 'd', '--json', out_json)
    out = capsys.readouterr().out
    labels = np.array([label for label, _ in SAMPLES])
    scores = np.array([score for _, score in SAMPLES])
    expected = compute_medical_metrics(scores, labels)
    assert expected['accuracy'] == pytest.approx(100 * 5 / 8)
    rows = table_rows(out)
    assert rows['accuracy'] == ['62.50']
    assert rows['auc'] == [f'{expected["auc"]:.4f}']
    assert rows['f1_macro'] == [f'{expected["f1_macro"]:.2f}']
    assert [rows[c] for c in 'abcd'] == [['3'], ['2'], ['1'], ['2']]
    written = json.loads(out_json.read_text())
    assert written == pytest.approx(expected)


def test_vis_cam_student_and_teacher_side_by_side(tmp_path, monkeypatch,
                                                  capsys):
    base = Config.fromfile(osp.join(ROOT, KD))
    torch.manual_seed(0)
    teacher = MODELS.build(
        teacher_model_config(
            'resnet18', base.model.teachers.resnet18.get('config'),
            base.model.teachers.resnet18.get('model'))[0])
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, teacher_ckpt)
    config = write_tiny_config(
        tmp_path / 'kd.py', KD, tmp_path / 'data',
        extra=f'model = dict(teachers=dict(resnet18=dict('
        f'ckpt={str(teacher_ckpt)!r})))')
    kd = MODELS.build(Config.fromfile(config).model)
    kd_ckpt = tmp_path / 'kd.pth'
    torch.save({'state_dict': kd.state_dict()}, kd_ckpt)

    rng = np.random.default_rng(0)
    images = []
    for i in range(2):
        images.append(str(tmp_path / f'img{i}.png'))
        cv2.imwrite(images[-1], rng.integers(0, 255, (16, 20, 3), np.uint8))
    run_tool(monkeypatch, 'visualization/vis_cam.py', config, kd_ckpt,
             *images, '--out-dir', tmp_path / 'cam')
    out = capsys.readouterr().out
    figure = cv2.imread(str(tmp_path / 'cam' / 'grad_cam.png'))
    # columns: input, student, resnet18; rows: a title strip and 2 images
    assert figure.shape[1] == 3 * 20
    assert 2 * 16 < figure.shape[0] <= 2 * 16 + 32
    # default target layers: the last 4-D outputs of the backbones
    assert 'student (backbone.blocks.2)' in out
    assert 'resnet18 (backbone.layer4)' in out
    # the first image's column is the input itself
    np.testing.assert_array_equal(figure[-32:-16, :20],
                                  cv2.imread(images[0]))
