"""Losses that cannot train a head are refused at build time, and label-aware
terms read the mixed targets of Mixup / CutMix batches."""

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from medkd.models.distillers.gated_multi_teacher import soft_nll
from medkd.registry import MODELS
from conftest import LogRecords, tiny_classifier


def _grad_norm(loss_cfg, num_classes, seed=0):
    torch.manual_seed(seed)
    student = torch.randn(16, num_classes, requires_grad=True)
    teacher = torch.randn(16, num_classes)
    MODELS.build(loss_cfg)(student, teacher).backward()
    return float(student.grad.norm())


def test_the_gradients_that_make_the_refusals_necessary():
    """Measured on the losses themselves (the code the build used to
    accept): on two classes LogitStd's and DIST's inter-class term have
    a gradient over 10^3 times smaller than Hinton KD's on the same logits (what
    is left comes from their eps), on three classes they have one."""
    logit_std = dict(type='LogitStdKDLoss', temperature=2.0)
    inter = dict(type='DISTLoss', beta=1.0, gamma=0.0)
    kd = _grad_norm(dict(type='KDLoss', temperature=2.0), 2)
    assert kd > 0.05
    assert _grad_norm(logit_std, 2) < 1e-3 * kd
    assert _grad_norm(inter, 2) < 1e-3 * kd
    assert _grad_norm(logit_std, 3) > 0.05
    assert _grad_norm(inter, 3) > 0.05
    # DIST's intra-class term (per class, over the batch) does train
    assert _grad_norm(dict(type='DISTLoss', beta=0.0, gamma=1.0), 2) > 0.05


def _kd(num_classes, kd_loss, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='VanillaKD',
             student=kwargs.pop('student', tiny_classifier(num_classes)),
             teachers=dict(t=dict(model=tiny_classifier(num_classes))),
             kd_loss=kd_loss, **kwargs))


def test_logit_standardisation_is_refused_for_a_binary_student():
    with pytest.raises(ValueError) as error:
        _kd(2, dict(type='LogitStdKDLoss'))
    message = str(error.value)
    assert 'model.kd_loss' in message and '2-class' in message
    assert 'DISTLoss' in message
    _kd(3, dict(type='LogitStdKDLoss'))  # more classes: fine


def test_dist_drops_its_inter_class_term_for_a_binary_student():
    from mmengine.logging import MMLogger
    records = LogRecords()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        model = _kd(2, dict(type='DISTLoss', beta=1.0, gamma=2.0))
    finally:
        logger.removeHandler(records)
    assert model.kd_loss.beta == 0.0 and model.kd_loss.gamma == 2.0
    assert any('inter-class Pearson term' in m for m in records.messages)
    assert _kd(3, dict(type='DISTLoss')).kd_loss.beta == 1.0


def test_label_reading_losses_are_refused_under_batch_augments():
    student = tiny_classifier(3)
    student['train_cfg'] = dict(augments=dict(type='Mixup', alpha=1.0))
    with pytest.raises(ValueError, match='model.kd_loss: DKDLoss reads each '
                       "sample's class label.*Mixup"):
        _kd(3, dict(type='DKDLoss'), student=student)
    _kd(3, dict(type='DISTLoss'), student=student)  # needs no label


def test_camkd_weights_and_gate_ce_use_the_mixed_targets():
    """Under Mixup a sample's target is λ·y_a + (1-λ)·y_b: CA-MKD's
    per-teacher cross-entropy and the gate CE use it, not y_a."""
    gate = MODELS.build(dict(type='CAMKDGate', num_teachers=2))
    probs = torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]])  # (1, 2, 3)
    mixed = torch.tensor([[0.3, 0.0, 0.7]])  # 30 % class 0, 70 % class 2
    ce = -(mixed[:, None] * probs.log()).sum(2)  # independent: (1, 2)
    expected = (1 - torch.softmax(ce, 1)) / 1
    torch.testing.assert_close(gate(None, probs, mixed), expected)
    # the first image's label alone (class 0) would favour teacher 0 instead
    assert gate(None, probs, mixed)[0, 1] > 0.5 > gate(
        None, probs, torch.tensor([0]))[0, 1]
    p = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    targets = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(
        soft_nll(p, targets),
        -(0.5 * torch.log(torch.tensor(0.6 * 0.3)) +
          torch.log(torch.tensor(0.6))) / 2)
    torch.testing.assert_close(soft_nll(p, torch.tensor([0, 2])),
                               F.nll_loss(p.log(), torch.tensor([0, 2])))


def test_label_targets_are_the_mixed_scores_of_a_mixed_batch():
    model = _kd(3, dict(type='DISTLoss'))
    plain = [DataSample().set_gt_label(i) for i in (0, 2)]
    assert model.label_targets(plain).tolist() == [0, 2]
    mixed = [DataSample().set_gt_label(0).set_gt_score(
        torch.tensor([0.4, 0.6, 0.0])) for _ in range(2)]
    torch.testing.assert_close(model.label_targets(mixed),
                               torch.tensor([[0.4, 0.6, 0.0]] * 2))
