"""tools/demo.py: the README's main job, shortened to one epoch a stage."""
import glob
import hashlib
import json
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.logging import MMLogger

from medkd.utils.checkpoint import safe_load
from conftest import LogRecords

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_demo_kd_trains_teacher_once_students_per_seed_and_reuses_runs(
        tmp_path, monkeypatch):
    small = [f'{split}_dataloader.dataset.{key}'
             for split in ('train', 'val', 'test')
             for key in ('num_per_class=[16,8,8]', 'image_size=16')]
    argv = ['demo.py', '--method', 'kd', '--epochs', '1', '--seeds', '2',
            '--work-dir', str(tmp_path / 'demo'), '--data-root',
            str(tmp_path / 'data'), '--cfg-options', *small]
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'), run_name='__main__')
    teacher_dir = tmp_path / 'demo' / 'convnet_wide_teacher_cells'
    assert osp.isfile(teacher_dir / 'epoch_1.pth')
    assert not (teacher_dir / 'seed_1').exists()  # teachers train once
    dist = tmp_path / 'demo' / 'kd' / 'dist_convnet_wide_convnet_cells'
    runs = [safe_load(str(dist / f'seed_{s}' / 'epoch_1.pth'))
            for s in (0, 1)]
    # every seed distilled from the teacher stage's final checkpoint (named
    # with its SHA-256 in the student-sized checkpoint) ...
    digest = hashlib.sha256(
        (teacher_dir / 'epoch_1.pth').read_bytes()).hexdigest()
    for run in runs:
        assert run['meta']['teacher_files']['convnet_wide'] == dict(
            ckpt=str(teacher_dir / 'epoch_1.pth'), sha256=digest)
        assert not [k for k in run['state_dict'] if k.startswith('teachers')]
    # ... from its own initialisation
    key = 'student.backbone.blocks.0.0.weight'
    assert not torch.equal(runs[0]['state_dict'][key],
                           runs[1]['state_dict'][key])
    metrics = json.loads((dist / 'seed_1' / 'seed_metrics.json').read_text())
    assert metrics['seed'] == 1
    assert {'val', 'test'} <= set(metrics)
    # the single teacher run carries bootstrap CIs of its test metrics
    teacher_test = json.loads(
        (teacher_dir / 'seed_metrics.json').read_text())['test']
    assert teacher_test['medical/accuracy_ci_low'] <= teacher_test[
        'medical/accuracy'] <= teacher_test['medical/accuracy_ci_high']
    for stage in ('convnet_student_cells', 'kd/kd_convnet_wide_convnet_cells'):
        for s in (0, 1):
            assert osp.isfile(tmp_path / 'demo' / stage / f'seed_{s}' /
                              'epoch_1.pth')
    mtime = osp.getmtime(teacher_dir / 'epoch_1.pth')
    runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'), run_name='__main__')
    assert osp.getmtime(teacher_dir / 'epoch_1.pth') == mtime  # reused


# every method of tools/demo.py but kd (the test above)
DEMO_METHODS = sorted(
    set(runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'))['METHODS']) -
    {'kd'})


@pytest.mark.parametrize('method', DEMO_METHODS)
def test_every_demo_method_runs_from_scratch(method, tmp_path, monkeypatch):
    """Each method's demo, one epoch a stage on tiny fresh data, prints its
    table (the kd demo is the test above)."""
    demo = runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'))
    small = [f'{split}_dataloader.dataset.{key}'
             for split in ('train', 'val', 'test')
             for key in ('num_per_class=[12,6,6]', 'image_size=16')]
    argv = ['demo.py', '--method', method, '--epochs', '1', '--work-dir',
            str(tmp_path / 'demo'), '--data-root', str(tmp_path / 'data'),
            '--json', str(tmp_path / 'record.json'), '--cfg-options', *small]
    monkeypatch.setattr(sys, 'argv', argv)
    records = LogRecords()
    MMLogger.get_instance('medkd_demo').addHandler(records)
    try:
        runpy.run_path(osp.join(ROOT, 'tools', 'demo.py'),
                       run_name='__main__')
    finally:
        MMLogger.get_instance('medkd_demo').removeHandler(records)
    hints = next(m for m in records.messages if m.startswith('Next:'))
    # the closing hints name files this run wrote
    (compare, ) = [line for line in hints.splitlines()
                   if 'compare_predictions.py' in line]
    dumps = compare.split()[-2:]
    assert len(set(dumps)) == 2 and all(map(osp.isfile, dumps)), compare
    # the record of the table: every stage's runs, the command, the code
    record = json.loads((tmp_path / 'record.json').read_text())
    assert [s['stage'] for s in record['stages']] == [
        s[0] for s in demo['METHODS'][method]]
    assert record['command'].startswith(f'python tools/demo.py --method '
                                        f'{method}')
    assert len(record['code_fingerprint']) == 64 and record['packages'][
        'torch']
    for stage in record['stages']:
        (run, ) = stage['runs']
        assert 'medical/ece_uncalibrated' in run['test']
    for stage in demo['METHODS'][method]:
        found = glob.glob(str(tmp_path / 'demo' / '**' /
                              osp.splitext(stage[1])[0] / 'seed_metrics.json'),
                          recursive=True)
        assert found, f'{method}: no metrics of stage {stage[0]!r}'
        test = json.loads(open(found[0]).read())['test']
        accuracy = test['medical/accuracy']
        assert 0 <= accuracy <= 100
    if method == 'gated_premise':  # the teachers learnt swapped labels
        lists = {p.name: p.read_text().splitlines()
                 for p in (tmp_path / 'data' / 'premise').iterdir()}
        assert sorted(lists) == ['train_swap_0_1.txt', 'train_swap_2_3.txt']
        train_csv = glob.glob(str(tmp_path / 'data' / '*' / 'train.csv'))
        truth = {r.split(',')[2]: int(r.split(',')[1])
                 for r in open(train_csv[0]).read().splitlines()[1:]}
        assert len(truth) == 4 * 12
        for name, (a, b) in (('train_swap_2_3.txt', (2, 3)),
                             ('train_swap_0_1.txt', (0, 1))):
            swapped = {osp.relpath(line.split()[0], osp.basename(
                osp.dirname(train_csv[0]))): int(line.split()[1])
                for line in lists[name]}
            swap = {a: b, b: a}
            assert swapped == {k: swap.get(v, v) for k, v in truth.items()}
