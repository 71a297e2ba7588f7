import json
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from conftest import write_tiny_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'configs/demo/convnet_student_cells.py'


def run_tool(monkeypatch, *args):
    tool = osp.join(ROOT, 'tools', 'analysis_tools', 'compare_runs.py')
    monkeypatch.setattr(sys, 'argv', [tool, *map(str, args)])
    runpy.run_path(tool, run_name='__main__')


def test_compare_runs_trains_every_seed_and_reports_mean_std(
        tmp_path, monkeypatch, capsys):
    data = tmp_path / 'cells'
    a = write_tiny_config(tmp_path / 'a.py', STUDENT, data)
    b = write_tiny_config(
        tmp_path / 'b.py', STUDENT, data,
        extra="optim_wrapper = dict(optimizer=dict(lr=1e-4))")
    work = tmp_path / 'runs'
    out = tmp_path / 'summary.json'
    run_tool(monkeypatch, a, b, '--seeds', 2, '--names', 'lr2e-3', 'lr1e-4',
             '--work-dir', work, '--train-metrics', '--json', out)
    printed = capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record['table'] in printed  # the record holds the printed table
    summary = record['runs']
    assert set(summary) == {'lr2e-3', 'lr1e-4'}
    for name, entry in summary.items():
        assert [r['seed'] for r in entry['runs']] == [0, 1]
        for split in ('train', 'val', 'test'):
            values = [r[split]['medical/accuracy'] for r in entry['runs']]
            assert entry['mean'][split]['medical/accuracy'] == \
                pytest.approx(np.mean(values))
            assert entry['std'][split]['medical/accuracy'] == \
                pytest.approx(np.std(values, ddof=1))
        test = [r['test']['medical/accuracy'] for r in entry['runs']]
        cell = f'{np.mean(test):.2f} ± {np.std(test, ddof=1):.2f}'
        row = [line for line in printed.splitlines() if f' {name} ' in line]
        assert row and cell in row[0]
        # each seed trained in its own folder with its own seed
        for seed in (0, 1):
            assert osp.isfile(work / name / f'seed_{seed}' / 'epoch_1.pth')
    # the seeds differ (different initialisations)
    runs = summary['lr2e-3']['runs']
    assert runs[0]['checkpoint'] != runs[1]['checkpoint']

    # a second call reuses the finished runs (no retraining)
    ckpt = work / 'lr2e-3' / 'seed_0' / 'epoch_1.pth'
    mtime = os.stat(ckpt).st_mtime_ns
    run_tool(monkeypatch, a, '--seeds', 1, '--names', 'lr2e-3',
             '--work-dir', work, '--json', tmp_path / 'again.json')
    assert os.stat(ckpt).st_mtime_ns == mtime
    again = json.loads((tmp_path / 'again.json').read_text())['runs']
    assert again['lr2e-3']['runs'][0]['test'] == runs[0]['test']


def test_compare_runs_refuses_mismatched_names(tmp_path, monkeypatch):
    with pytest.raises(SystemExit):
        run_tool(monkeypatch, 'a.py', 'b.py', '--names', 'only_one')


def test_metric_cell_shows_a_ci_for_one_run_and_mean_std_for_several():
    from medkd.apis import metric_cell
    one = [{'acc': 80.0, 'acc_ci_low': 71.5, 'acc_ci_high': 88.25}]
    assert metric_cell(one, 'acc') == '80.00 [71.50, 88.25]'
    several = [{'acc': 80.0, 'acc_ci_low': 1.0, 'acc_ci_high': 2.0},
               {'acc': 84.0}]
    assert metric_cell(several, 'acc') == \
        f'82.00 ± {np.std([80.0, 84.0], ddof=1):.2f}'
    assert metric_cell([{'acc': 80.0}], 'acc', 1) == '80.0'
