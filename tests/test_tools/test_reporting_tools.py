"""tools/test.py --youden-threshold --ci, compare_predictions.py and
reliability_diagram.py on a tiny binary model, checked against independent
computations on the dumped predictions."""
import glob
import json
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, recall_score, roc_auc_score

from medkd.evaluation import compute_medical_metrics
from medkd.evaluation.dumped_results import load_predictions, load_results
from conftest import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def binary_run(tmp_path_factory):
    """A 2-class student trained one epoch, with dumps of val and test."""
    tmp = tmp_path_factory.mktemp('binary')
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={str(tmp / 'data')!r}, num_classes=2, "
              "num_per_class=(16, 12, 12), image_size=16, "
              "pipeline=_base_.test_pipeline))")
    cfg = tmp / 'binary.py'
    cfg.write_text('\n'.join([
        "_base_ = [%r]" %
        osp.join(ROOT, 'configs/demo/convnet_student_cells.py'),
        f'train_dataloader = {loader}', f'val_dataloader = {loader}',
        f'test_dataloader = {loader}', 'model = dict(head=dict(num_classes=2))',
        'data_preprocessor = dict(num_classes=2)',
        'train_cfg = dict(max_epochs=1)',
        'default_hooks = dict(logger=dict(interval=1))', ''
    ]))
    mp = pytest.MonkeyPatch()
    run_tool(mp, 'train.py', cfg, '--work-dir', tmp / 'train')
    ckpt = tmp / 'train' / 'epoch_1.pth'
    run_tool(mp, 'test.py', cfg, ckpt, '--work-dir', tmp / 'val', '--out',
             tmp / 'val.pkl', '--cfg-options',
             'test_dataloader.dataset.split=val')
    run_tool(mp, 'test.py', cfg, ckpt, '--work-dir', tmp / 'test', '--out',
             tmp / 'test.pkl', '--ci', '--youden-threshold')
    mp.undo()
    return tmp


def _test_metrics(work_dir):
    """The metrics mmengine logged for the test run."""
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.json'))):
        with open(path) as f:
            record = json.loads(f.readline())
        if 'medical/accuracy' in record:
            return record
    raise AssertionError(f'no test metrics under {work_dir}')


def test_youden_threshold_is_chosen_on_val_and_applied_to_test(binary_run):
    val = load_predictions(str(binary_run / 'val.pkl'))
    test = load_predictions(str(binary_run / 'test.pkl'))
    # Youden's J by brute force over the val scores
    candidates = np.unique(val.scores[:, 1])
    j = [
        recall_score(val.labels, val.scores[:, 1] >= t) +
        recall_score(val.labels, val.scores[:, 1] >= t, pos_label=0) - 1
        for t in candidates
    ]
    metrics = _test_metrics(binary_run / 'test')
    thr = metrics['medical/decision_threshold']
    pred_val = val.scores[:, 1] >= thr
    assert recall_score(val.labels, pred_val) + recall_score(
        val.labels, pred_val, pos_label=0) - 1 == pytest.approx(max(j),
                                                                abs=1e-3)
    pred = test.scores[:, 1] >= thr
    assert metrics['medical/sensitivity'] == pytest.approx(
        recall_score(test.labels, pred) * 100, abs=1e-3)
    assert metrics['medical/specificity'] == pytest.approx(
        recall_score(test.labels, pred, pos_label=0) * 100, abs=1e-3)
    for key in ('accuracy', 'f1_weighted', 'sensitivity', 'specificity',
                'auc'):
        low = metrics[f'medical/{key}_ci_low']
        high = metrics[f'medical/{key}_ci_high']
        assert low <= metrics[f'medical/{key}'] <= high, key
        assert low < high, key


def _sharpened(results, amount):
    """The same samples with the true class's score raised."""
    out = []
    for r in results:
        r = dict(r)
        score = r['pred_score'].clone()
        score[int(r['gt_label'][0])] += amount
        r['pred_score'] = score / score.sum()
        out.append(r)
    return out


def test_compare_predictions_paired_statistics(binary_run, tmp_path,
                                               monkeypatch):
    a_path = str(binary_run / 'test.pkl')
    results = load_results(a_path)
    b_path = str(tmp_path / 'better.pkl')
    with open(b_path, 'wb') as f:
        pickle.dump(_sharpened(results, 0.4), f)
    out = tmp_path / 'compare.json'
    run_tool(monkeypatch, 'analysis_tools/compare_predictions.py', a_path,
             b_path, '--n-bootstrap', 200, '--json', out)
    summary = json.loads(out.read_text())
    a, b = load_predictions(a_path), load_predictions(b_path)
    labels = a.labels
    auc = summary['metrics']['auc']
    assert auc['a'] == pytest.approx(roc_auc_score(labels, a.scores[:, 1]))
    assert auc['b'] == pytest.approx(roc_auc_score(labels, b.scores[:, 1]))
    f1 = summary['metrics']['f1_weighted']
    assert f1['diff'] == pytest.approx(
        (f1_score(labels, b.scores.argmax(1), average='weighted') -
         f1_score(labels, a.scores.argmax(1), average='weighted')) * 100)
    assert summary['metrics']['accuracy']['diff'] >= 0
    for r in summary['metrics'].values():
        assert r['ci_low'] <= r['diff'] <= r['ci_high']
        assert 0 <= r['p_value'] <= 1
    right_a = a.scores.argmax(1) == labels
    right_b = b.scores.argmax(1) == labels
    assert summary['mcnemar']['only_a'] == int(np.sum(right_a & ~right_b))
    assert summary['mcnemar']['only_b'] == int(np.sum(right_b & ~right_a))


def test_compare_predictions_by_patient_each_at_its_own_threshold(
        binary_run, tmp_path, monkeypatch):
    """Dumps that name patients are resampled by patient (the same for
    both models); each model can sit at its own operating point, and
    --pos-label picks the class whose sensitivity is reported."""
    from medkd.evaluation.statistics import paired_bootstrap
    results = load_results(str(binary_run / 'test.pkl'))
    for i, r in enumerate(results):
        r['patient_id'] = f'p{i % 5}'  # 5 patients
    a_path, b_path = tmp_path / 'a.pkl', tmp_path / 'b.pkl'
    with open(a_path, 'wb') as f:
        pickle.dump(results, f)
    with open(b_path, 'wb') as f:
        pickle.dump(_sharpened(results, 0.4), f)
    out = tmp_path / 'compare.json'
    run_tool(monkeypatch, 'analysis_tools/compare_predictions.py', a_path,
             b_path, '--n-bootstrap', 100, '--threshold-a', 0.3,
             '--threshold-b', 0.6, '--pos-label', 0, '--json', out)
    summary = json.loads(out.read_text())
    assert summary['unit'] == 'patient' and summary['patients'] == 5
    a, b = load_predictions(str(a_path)), load_predictions(str(b_path))
    sens = summary['metrics']['sensitivity']
    # independent: class 0 positive, A from 0.3, B from 0.6 on its score
    for side, preds, t in (('a', a, 0.3), ('b', b, 0.6)):
        positive = preds.scores[:, 0] >= t
        expected = recall_score(preds.labels == 0, positive) * 100
        assert sens[side] == pytest.approx(expected)
    groups = [r['patient_id'] for r in results]
    again = paired_bootstrap(a.scores, b.scores, a.labels, n_bootstrap=100,
                             groups=groups, decision_thresholds=(0.3, 0.6),
                             pos_label=0)['sensitivity']
    assert (sens['ci_low'], sens['ci_high']) == pytest.approx(
        (again.ci_low, again.ci_high))
    right = [np.where(p.scores[:, 0] >= t, 0, 1) == p.labels
             for p, t in ((a, 0.3), (b, 0.6))]
    assert summary['mcnemar']['only_a'] == int(np.sum(right[0] & ~right[1]))


def test_compare_predictions_refuses_other_samples(binary_run, tmp_path,
                                                   monkeypatch):
    a_path = str(binary_run / 'test.pkl')
    val_path = str(binary_run / 'val.pkl')
    with pytest.raises(ValueError, match='not predictions of the same') as e:
        run_tool(monkeypatch, 'analysis_tools/compare_predictions.py',
                 a_path, val_path)
    assert a_path in str(e.value) and val_path in str(e.value)
    short = tmp_path / 'short.pkl'
    with open(short, 'wb') as f:
        pickle.dump(load_results(a_path)[:-1], f)
    with pytest.raises(ValueError, match='24 vs 23 samples'):
        run_tool(monkeypatch, 'analysis_tools/compare_predictions.py',
                 a_path, short)


def test_reliability_diagram_matches_the_metric_ece(binary_run, tmp_path,
                                                    monkeypatch):
    a_path = str(binary_run / 'test.pkl')
    out = tmp_path / 'diagram.png'
    run_tool(monkeypatch, 'analysis_tools/reliability_diagram.py', a_path,
             '--names', 'student', '--out', out, '--json',
             tmp_path / 'bins.json')
    assert out.stat().st_size > 1000
    bins = json.loads((tmp_path / 'bins.json').read_text())['student']
    preds = load_predictions(a_path)
    expected = compute_medical_metrics(preds.scores, preds.labels)['ece']
    assert bins['ece'] == pytest.approx(expected)
    assert sum(bins['count']) == len(preds.scores)
    assert torch.is_tensor(load_results(a_path)[0]['pred_score'])
