"""Patient ids travel from the dataset to every place a CI is computed:
the predictions ``tools/test.py --out`` dumps, its ``--ci`` intervals
(resampling patients) and the HTML report's table, on a C-NMC tree in its
download layout (12 blast and 8 healthy patients, several cells each)."""
import glob
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from medkd.evaluation.dumped_results import load_results
from medkd.registry import DATASETS
from conftest import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PATIENTS = {'all': [str(i) for i in range(1, 13)],
            'hem': [f'H{i}' for i in range(1, 9)]}


def _write_cnmc(root, cells=5):
    """``training_data/fold_{0,1,2}/{all,hem}/UID_<patient>_<cell>_1_<c>.bmp``
    with a per-patient brightness (so patients differ)."""
    rng = np.random.default_rng(0)
    for label, (name, patients) in enumerate(PATIENTS.items()):
        for i, patient in enumerate(patients):
            folder = root / 'training_data' / f'fold_{i % 3}' / name
            folder.mkdir(parents=True, exist_ok=True)
            base = rng.integers(40, 200)
            for cell in range(cells):
                image = np.clip(rng.normal(base + 30 * label, 20,
                                           (16, 16, 3)), 0, 255)
                cv2.imwrite(str(folder / f'UID_{patient}_{cell}_1_{name}.bmp'),
                            image.astype(np.uint8))


@pytest.fixture(scope='module')
def cnmc_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cnmc')
    _write_cnmc(tmp / 'data')
    pipeline = ("[dict(type='LoadImageFromFile'), "
                "dict(type='Resize', scale=(16, 16)), "
                "dict(type='PackInputs')]")
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={str(tmp / 'data')!r}, "
              f"pipeline={pipeline}))")
    cfg = tmp / 'cnmc.py'
    cfg.write_text('\n'.join([
        '_base_ = [%r, %r, %r, %r]' % tuple(
            osp.join(ROOT, 'configs', p)
            for p in ('_base_/datasets/cnmc.py',
                      '_base_/models/convnet_tiny_cells.py',
                      '_base_/schedules/adam_demo.py',
                      '_base_/default_runtime.py')),
        'model = _base_.convnet_tiny_cells',
        'model.head.num_classes = 2',
        f'train_dataloader = {loader}', f'val_dataloader = {loader}',
        f'test_dataloader = {loader}', 'train_cfg = dict(max_epochs=1)', ''
    ]))
    mp = pytest.MonkeyPatch()
    run_tool(mp, 'train.py', cfg, '--work-dir', tmp / 'train')
    run_tool(mp, 'test.py', cfg, tmp / 'train' / 'epoch_1.pth',
             '--work-dir', tmp / 'test', '--out', tmp / 'test.pkl', '--ci')
    mp.undo()
    return tmp


def test_the_dump_carries_each_samples_patient(cnmc_run):
    dataset = DATASETS.build(dict(type='CNMC2019',
                                  data_root=str(cnmc_run / 'data'),
                                  split='test'))
    expected = [dataset.get_data_info(i)['patient_id']
                for i in range(len(dataset))]
    dumped = [r['patient_id'] for r in load_results(str(cnmc_run /
                                                        'test.pkl'))]
    assert dumped == expected and len(set(expected)) >= 2


def test_tools_test_ci_resamples_the_test_patients(cnmc_run):
    (log, ) = glob.glob(str(cnmc_run / 'test' / '*' / '*.json'))
    with open(log) as f:
        metrics = json.loads(f.readline())
    patients = {r['patient_id']
                for r in load_results(str(cnmc_run / 'test.pkl'))}
    assert metrics['medical/ci_patients'] == len(patients)
    low, high = (metrics['medical/accuracy_ci_low'],
                 metrics['medical/accuracy_ci_high'])
    assert low <= metrics['medical/accuracy'] <= high


def test_the_report_says_its_intervals_resample_patients(cnmc_run,
                                                         monkeypatch):
    out = cnmc_run / 'report'
    run_tool(monkeypatch, 'analysis_tools/report.py',
             str(cnmc_run / 'train'), '--results', str(cnmc_run / 'test.pkl'),
             '--out', str(out))
    page = (out / 'index.html').read_text()
    patients = {r['patient_id']
                for r in load_results(str(cnmc_run / 'test.pkl'))}
    assert f'{len(patients)} patients' in page
