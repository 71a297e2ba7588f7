import glob
import json
import os.path as osp

import mmengine
import numpy as np
import pytest
import torch
from mmengine.config import Config

from medkd.registry import MODELS
from medkd.models.teachers import teacher_model_config
from conftest import run_tool, write_tiny_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GATED = 'configs/demo/gated_resnet18_convnet_cells.py'


def test_gated_train_logs_gates_test_dumps_them_and_report(
        tmp_path, monkeypatch, capsys):
    base = Config.fromfile(osp.join(ROOT, GATED))
    ckpts = {}
    for name, teacher in base.model.teachers.items():
        torch.manual_seed(len(name))
        model = MODELS.build(teacher_model_config(
            name, teacher.get('config'), teacher.get('model'))[0])
        ckpts[name] = str(tmp_path / f'{name}.pth')
        torch.save({'state_dict': model.state_dict()}, ckpts[name])
    teachers = ', '.join(f'{n}=dict(ckpt={p!r})' for n, p in ckpts.items())
    cfg = write_tiny_config(tmp_path / 'gated.py', GATED, tmp_path / 'data',
                            extra=f'model = dict(teachers=dict({teachers}))')
    run_tool(monkeypatch, 'train.py', cfg, '--work-dir', tmp_path / 'work')

    scalars = glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                            'scalars.json'))[0]
    logged = [json.loads(line) for line in open(scalars)]
    train_logs = [r for r in logged if 'gate_w_resnet18' in r]
    assert len(train_logs) == 4  # 32 images / batch 8, logged every iter
    for record in train_logs:
        total = record['gate_w_resnet18'] + record['gate_w_convnet_wide']
        assert abs(total - 1) < 1e-4

    run_tool(monkeypatch, 'test.py', cfg, tmp_path / 'work' / 'epoch_1.pth',
             '--work-dir', tmp_path / 'test', '--out',
             tmp_path / 'results.pkl')
    results = mmengine.load(tmp_path / 'results.pkl')
    weights = np.stack([r['gate_weights'] for r in results])
    assert weights.shape == (16, 2)
    np.testing.assert_allclose(weights.sum(1), 1, atol=1e-5)

    capsys.readouterr()
    run_tool(monkeypatch, 'analysis_tools/gate_report.py', cfg,
             tmp_path / 'results.pkl', '--out-png', tmp_path / 'gate.png',
             '--json', tmp_path / 'gate.json')
    out = capsys.readouterr().out
    assert json.loads((tmp_path / 'gate.json').read_text())['table'] in out
    labels = np.array([r['gt_label'][0] for r in results])
    names = ('neutrophil', 'lymphocyte', 'eosinophil', 'monocyte')
    rows = {line.split('|')[1].strip(): line.split('|')[2:]
            for line in out.splitlines() if line.startswith('|')}
    for c, name in enumerate(names):  # the config's class names
        mean = weights[labels == c].mean(0)
        assert [v.strip() for v in rows[name][:3]] == [
            '4', f'{mean[0]:.3f}', f'{mean[1]:.3f}'], out
    assert rows['(all samples)'][0].strip() == '16'
    assert osp.getsize(tmp_path / 'gate.png') > 1000
    # the distillation report shows the same per-class gate weights
    run_tool(monkeypatch, 'analysis_tools/report.py', tmp_path / 'work',
             '--results', tmp_path / 'results.pkl', '--names', 'gated',
             '--out', tmp_path / 'report')
    page = (tmp_path / 'report' / 'index.html').read_text()
    assert 'run0_gate.png' in page and 'mean gate weight per class' in page
    assert osp.getsize(tmp_path / 'report' / 'run0_gate.png') > 1000
    # too few --classes is an error, not a dropped class
    with pytest.raises(ValueError, match='name every class'):
        run_tool(monkeypatch, 'analysis_tools/gate_report.py', cfg,
                 tmp_path / 'results.pkl', '--classes', 'a', 'b')
