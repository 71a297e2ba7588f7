import glob
import json
import os.path as osp

import numpy as np
from mmengine.config import Config

from medkd.datasets import generate_synthetic_cells
from conftest import run_tool, torchrun

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIMO = osp.join(ROOT, 'configs', 'demo', 'mm_mimo_cells.py')


def write_cv_config(tmp_path):
    """The demo MM-MIMO config on one generated CSV split into folds, shrunk
    to 32 cells of 16 px and one epoch."""
    data_root = str(tmp_path / 'cells')
    meta = generate_synthetic_cells(
        data_root,
        num_classes=4,
        num_per_class=(8, 4, 4),
        image_size=16,
        num_modalities=4)
    dataset = dict(
        type='MultiModalCells',
        data_root=data_root,
        ann_file='train.csv',
        modalities=tuple(meta['modalities']),
        metainfo=dict(classes=tuple(meta['classes'])),
        num_folds=5,
        val_ratio=0.25,
        fold=0,
        serialize_data=False)
    loader = "dict(batch_size=8, num_workers=0, persistent_workers=False, "
    text = '\n'.join([
        f'_base_ = [{MIMO!r}]',
        f'dataset = {dataset!r}',
        'pipeline = _base_.test_pipeline',
        'train_dataloader = ' + loader + "dataset=dict(_delete_=True, "
        "type='MIMODataset', dataset=dict(dataset, split='train', "
        "pipeline=pipeline)))",
        'val_dataloader = ' + loader + "dataset=dict(dataset, _delete_=True, "
        "split='val', pipeline=pipeline))",
        'test_dataloader = ' + loader + "dataset=dict(dataset, _delete_=True, "
        "split='test', pipeline=pipeline))",
        'train_cfg = dict(max_epochs=1)',
        'default_hooks = dict(logger=dict(interval=1))',
    ])
    path = tmp_path / 'cv_mimo.py'
    path.write_text(text + '\n')
    return str(path)


def test_cross_validate_runs_every_fold_and_summarises(tmp_path, monkeypatch,
                                                       capsys):
    cfg = write_cv_config(tmp_path)
    work = tmp_path / 'cv'
    capsys.readouterr()
    run_tool(monkeypatch, 'analysis_tools/cross_validate.py', cfg, '--folds',
             2, '--work-dir', work)
    out = capsys.readouterr().out

    for fold in range(2):
        dumped = Config.fromfile(
            glob.glob(
                str(work / f'fold_{fold}' / '*' / 'vis_data' /
                    'config.py'))[0])
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            dataset = dumped[key].dataset
            assert (dataset.fold, dataset.num_folds) == (fold, 2), key
    results = json.load(open(work / 'cv_results.json'))
    assert results['folds'] == 2 and len(results['per_fold']) == 2
    for key in ('medical/accuracy', 'medical/f1_weighted', 'medical/auc'):
        values = np.array([f[key] for f in results['per_fold']])
        assert abs(results['mean'][key] - values.mean()) < 1e-9
        assert abs(results['std'][key] - values.std(ddof=1)) < 1e-9
        assert f"{key}" in out and f"{results['mean'][key]:.4f} ± " in out
    csv_rows = open(work / 'cv_results.csv').read().splitlines()
    assert csv_rows[0] == 'metric,mean,std,fold_0,fold_1'
    assert len(csv_rows) == 1 + len(results['mean'])

    # A finished fold is reused, not retrained.
    run_tool(monkeypatch, 'analysis_tools/cross_validate.py', cfg, '--folds',
             2, '--work-dir', work)
    assert len(glob.glob(str(work / 'fold_0' / '*' / 'vis_data'))) == 1

    # Fig. 4 of the paper from fold 0's checkpoint.
    capsys.readouterr()
    run_tool(monkeypatch, 'analysis_tools/head_confidence.py', cfg,
             work / 'fold_0' / 'epoch_1.pth', '--out', tmp_path / 'fig.png')
    out = capsys.readouterr().out
    assert osp.getsize(tmp_path / 'fig.png') > 1000
    for name in ('all', 'fluorescent only', 'bf_blue only', 'head bf_red'):
        assert name in out
    row = next(line for line in out.splitlines() if '| all ' in line)
    confidences = [float(v) for v in row.split('|')[2:-1]]
    assert len(confidences) == 4
    assert all(0.25 <= c <= 1 for c in confidences)


def test_cross_validate_trains_each_fold_distributed(tmp_path):
    """torchrun, 2 CPU processes, --launcher pytorch: every fold trains on
    both processes and rank 0 writes the summary once."""
    cfg = write_cv_config(tmp_path)
    work = tmp_path / 'cv'
    done = torchrun('analysis_tools/cross_validate.py', cfg, '--folds', 2,
                    '--work-dir', work, '--launcher', 'pytorch')
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert 'Distributed training: True' in output
    summary = json.loads((work / 'cv_results.json').read_text())
    assert len(summary['per_fold']) == 2
    assert output.count('2-fold cross-validation') == 1  # rank 0 only
    for fold in (0, 1):
        assert glob.glob(str(work / f'fold_{fold}' / 'epoch_1.pth'))
        assert (work / f'fold_{fold}' / 'test_metrics.json').is_file()
