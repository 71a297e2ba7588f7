import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample
from sklearn.metrics import (accuracy_score, balanced_accuracy_score,
                             f1_score, precision_recall_fscore_support,
                             precision_score, roc_auc_score)

from medkd.evaluation import MedicalMetric, compute_medical_metrics
from medkd.evaluation.metrics import medical_metric
from medkd.registry import METRICS

# Predictions (argmax) give the confusion matrix (rows: truth, cols: pred)
#   [[2, 1, 0],
#    [0, 2, 1],
#    [1, 0, 3]]
SCORES_3 = np.array([
    [0.7, 0.2, 0.1],
    [0.5, 0.3, 0.2],
    [0.2, 0.6, 0.2],
    [0.1, 0.8, 0.1],
    [0.3, 0.4, 0.3],
    [0.2, 0.2, 0.6],
    [0.1, 0.2, 0.7],
    [0.6, 0.1, 0.3],
    [0.2, 0.3, 0.5],
    [0.1, 0.1, 0.8],
])
LABELS_3 = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])


def test_single_label_against_sklearn():
    metrics = compute_medical_metrics(SCORES_3, LABELS_3)
    preds = SCORES_3.argmax(1)

    assert metrics['accuracy'] == pytest.approx(70.0)
    assert metrics['accuracy'] == pytest.approx(
        accuracy_score(LABELS_3, preds) * 100)
    for average in ('macro', 'weighted'):
        p, r, f1, _ = precision_recall_fscore_support(LABELS_3,
                                                      preds,
                                                      average=average,
                                                      zero_division=0)
        assert metrics[f'precision_{average}'] == pytest.approx(p * 100)
        assert metrics[f'recall_{average}'] == pytest.approx(r * 100)
        assert metrics[f'sensitivity_{average}'] == pytest.approx(r * 100)
        assert metrics[f'f1_{average}'] == pytest.approx(f1 * 100)

    # One-vs-rest from the matrix above: TN / (TN + FP) per class.
    specificity = np.array([6 / 7, 6 / 7, 5 / 6])
    support = np.array([3, 3, 4])
    assert metrics['specificity_macro'] == pytest.approx(specificity.mean() *
                                                         100)
    assert metrics['specificity_weighted'] == pytest.approx(
        (specificity * support).sum() / support.sum() * 100)

    assert metrics['auc'] == pytest.approx(
        roc_auc_score(LABELS_3, SCORES_3, multi_class='ovr', average='macro'))
    assert metrics['auc_weighted'] == pytest.approx(
        roc_auc_score(LABELS_3,
                      SCORES_3,
                      multi_class='ovr',
                      average='weighted'))
    assert all(isinstance(v, float) for v in metrics.values())


def test_single_label_absent_class_gives_nan_auc(monkeypatch):
    warnings = []
    monkeypatch.setattr(medical_metric, 'print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    # Class 2 never occurs: its AUC is undefined, the others are kept.
    keep = LABELS_3 != 2
    metrics = compute_medical_metrics(SCORES_3[keep], LABELS_3[keep])
    auc_0 = roc_auc_score(LABELS_3[keep] == 0, SCORES_3[keep, 0])
    auc_1 = roc_auc_score(LABELS_3[keep] == 1, SCORES_3[keep, 1])
    assert metrics['auc'] == pytest.approx((auc_0 + auc_1) / 2)
    assert metrics['auc_weighted'] == pytest.approx(
        (3 * auc_0 + 3 * auc_1) / 6)
    assert len(warnings) == 1 and "'2'" in warnings[0]


def test_binary_auc():
    scores1 = np.array([0.1, 0.4, 0.35, 0.8, 0.65, 0.2])
    labels = np.array([0, 0, 1, 1, 1, 0])
    scores = np.stack([1 - scores1, scores1], axis=1)
    metrics = compute_medical_metrics(scores, labels)
    assert metrics['auc'] == pytest.approx(roc_auc_score(labels, scores1))
    assert 'auc_weighted' not in metrics



def test_binary_positive_class_metrics_by_hand_and_sklearn():
    # labels 1 = positive (e.g. blast); preds = argmax
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    preds = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])
    scores = np.eye(2)[preds] * 0.6 + 0.2
    m = compute_medical_metrics(scores, labels)
    # TP 3, FN 1, TN 4, FP 2
    assert m['sensitivity'] == pytest.approx(3 / 4 * 100)
    assert m['specificity'] == pytest.approx(4 / 6 * 100)
    assert m['ppv'] == pytest.approx(3 / 5 * 100)
    assert m['npv'] == pytest.approx(4 / 5 * 100)
    assert m['balanced_accuracy'] == pytest.approx(
        balanced_accuracy_score(labels, preds) * 100)
    assert m['f1'] == pytest.approx(f1_score(labels, preds) * 100)
    assert m['ppv'] == pytest.approx(precision_score(labels, preds) * 100)
    # the positive-class values are not the (degenerate) macro averages
    assert m['sensitivity'] != pytest.approx(m['specificity'])
    # pos_label=0 swaps the roles
    m0 = compute_medical_metrics(scores, labels, pos_label=0)
    assert m0['sensitivity'] == pytest.approx(m['specificity'])
    assert m0['ppv'] == pytest.approx(m['npv'])
    assert m0['auc'] == pytest.approx(m['auc'])
    with pytest.raises(ValueError, match='pos_label'):
        compute_medical_metrics(scores, labels, pos_label=2)


def test_binary_keys_reach_the_evaluator():
    samples = [
        DataSample().set_gt_label(y).set_pred_score(
            torch.tensor(s)).to_dict()
        for y, s in ((1, [0.2, 0.8]), (0, [0.9, 0.1]), (1, [0.7, 0.3]))
    ]
    evaluator = Evaluator(dict(type='MedicalMetric', pos_label=1))
    evaluator.process(samples)
    out = evaluator.evaluate(3)
    assert out['medical/sensitivity'] == pytest.approx(50.0)
    assert out['medical/specificity'] == pytest.approx(100.0)
    assert out['medical/npv'] == pytest.approx(50.0)


ML_SCORES = np.array([
    [0.9, 0.2, 0.7],
    [0.3, 0.8, 0.4],
    [0.6, 0.4, 0.9],
    [0.2, 0.7, 0.1],
    [0.4, 0.1, 0.6],
    [0.7, 0.6, 0.3],
])
ML_LABELS = np.array([
    [1, 0, 1],
    [0, 1, 1],
    [1, 0, 1],
    [0, 1, 0],
    [0, 1, 1],
    [1, 0, 0],
])
ML_MASK = np.array([
    [1, 1, 1],
    [1, 1, 1],
    [1, 0, 1],
    [1, 1, 0],
    [0, 1, 1],
    [1, 1, 0],
])


def test_multi_label_with_mask(monkeypatch):
    warnings = []
    monkeypatch.setattr(medical_metric, 'print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    names = ['atelectasis', 'edema', 'effusion']
    metrics = compute_medical_metrics(ML_SCORES,
                                      ML_LABELS,
                                      multi_label=True,
                                      mask=ML_MASK,
                                      thr=0.5,
                                      class_names=names)

    keep = ML_MASK.astype(bool)
    aucs = []
    for j, name in enumerate(names[:2]):
        aucs.append(
            roc_auc_score(ML_LABELS[keep[:, j], j], ML_SCORES[keep[:, j], j]))
        assert metrics[f'auc/{name}'] == pytest.approx(aucs[-1])
    # 'effusion' is positive on all its unmasked entries: undefined AUC.
    assert math.isnan(metrics['auc/effusion'])
    assert metrics['auc_mean'] == pytest.approx(np.mean(aucs))
    assert len(warnings) == 1 and 'effusion' in warnings[0]

    preds = (ML_SCORES >= 0.5).astype(int)
    per_label = np.array([
        precision_recall_fscore_support(ML_LABELS[keep[:, j], j],
                                        preds[keep[:, j], j],
                                        average='binary',
                                        zero_division=0)[:3] for j in range(3)
    ])
    positives = np.array([3, 3, 4])
    for i, key in enumerate(('precision', 'recall', 'f1')):
        assert metrics[f'{key}_macro'] == pytest.approx(
            per_label[:, i].mean() * 100)
        assert metrics[f'{key}_weighted'] == pytest.approx(
            (per_label[:, i] * positives).sum() / positives.sum() * 100)
    # TN / (TN + FP) per label on unmasked entries: 2/2, 1/2, no negatives.
    specificity = np.array([1.0, 1 / 2, 0.0])
    assert metrics['specificity_macro'] == pytest.approx(specificity.mean() *
                                                         100)
    assert metrics['specificity_weighted'] == pytest.approx(
        (specificity * positives).sum() / positives.sum() * 100)
    correct = (preds == ML_LABELS)[keep]
    assert metrics['accuracy'] == pytest.approx(correct.mean() * 100)


def test_invalid_inputs():
    with pytest.raises(ValueError, match='mask'):
        compute_medical_metrics(SCORES_3, LABELS_3, mask=np.ones((10, 3)))
    with pytest.raises(ValueError, match='class names'):
        compute_medical_metrics(SCORES_3, LABELS_3, class_names=['a', 'b'])
    with pytest.raises(ValueError, match='0/1'):
        compute_medical_metrics(ML_SCORES,
                                ML_LABELS * 2,
                                multi_label=True,
                                mask=ML_MASK)


def test_build_from_registry():
    metric = METRICS.build(
        dict(type='MedicalMetric', score_field='pred_score_swin'))
    assert isinstance(metric, MedicalMetric)
    assert metric.score_field == 'pred_score_swin'


def _single_label_samples():
    samples = []
    for score, label in zip(SCORES_3, LABELS_3):
        sample = DataSample().set_gt_label(int(label)).set_pred_score(
            torch.tensor(score, dtype=torch.float32))
        # A teacher's scores, a distiller stores them under another field.
        sample.set_field(torch.tensor(np.roll(score, 1), dtype=torch.float32),
                         'pred_score_swin')
        samples.append(sample)
    return samples


def test_metric_with_evaluator_and_teacher_field():
    evaluator = Evaluator([
        MedicalMetric(),
        MedicalMetric(score_field='pred_score_swin', prefix='teacher_swin'),
    ])
    samples = _single_label_samples()
    evaluator.process(samples[:4])
    evaluator.process(samples[4:])
    results = evaluator.evaluate(len(samples))

    expected = compute_medical_metrics(SCORES_3, LABELS_3)
    teacher = compute_medical_metrics(np.roll(SCORES_3, 1, axis=1), LABELS_3)
    for key, value in expected.items():
        assert results[f'medical/{key}'] == pytest.approx(value, rel=1e-5)
        assert results[f'teacher_swin/{key}'] == pytest.approx(teacher[key],
                                                               rel=1e-5)
    assert results['medical/accuracy'] == pytest.approx(70.0)
    assert all(isinstance(v, float) for v in results.values())


def test_metric_missing_score_field():
    metric = MedicalMetric(score_field='pred_score_vit')
    sample = _single_label_samples()[0].to_dict()
    with pytest.raises(KeyError, match='pred_score_vit.*pred_score_swin'):
        metric.process(None, [sample])


def test_metric_multi_label_with_mask_and_class_names():
    names = ('atelectasis', 'edema', 'effusion')
    metric = MedicalMetric(multi_label=True, thr=0.5)
    metric.dataset_meta = dict(classes=names)
    samples = []
    for score, label, mask in zip(ML_SCORES, ML_LABELS, ML_MASK):
        # Positive indices for gt_label, converted to one-hot by the metric.
        sample = DataSample().set_gt_label(np.flatnonzero(label).tolist())
        sample.set_pred_score(torch.tensor(score, dtype=torch.float32))
        sample.set_field(torch.tensor(mask), 'gt_label_mask')
        samples.append(sample.to_dict())
    metric.process(None, samples)
    results = metric.evaluate(len(samples))

    expected = compute_medical_metrics(ML_SCORES,
                                       ML_LABELS,
                                       multi_label=True,
                                       mask=ML_MASK,
                                       class_names=list(names))
    assert set(results) == {f'medical/{key}' for key in expected}
    assert results['medical/auc/edema'] == pytest.approx(expected['auc/edema'],
                                                         rel=1e-5)
    assert math.isnan(results['medical/auc/effusion'])
    assert results['medical/auc_mean'] == pytest.approx(expected['auc_mean'],
                                                        rel=1e-5)
    assert results['medical/f1_macro'] == pytest.approx(expected['f1_macro'],
                                                        rel=1e-5)
