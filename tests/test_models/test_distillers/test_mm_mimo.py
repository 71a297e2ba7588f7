import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier

SLOTS = (3, 1, 2)
NAMES = ('fluo', 'red', 'green')


def student_cfg(num_classes=4):
    return dict(
        type='MIMOClassifier',
        slot_channels=SLOTS,
        backbone=dict(
            type='SimpleConvNet', channels=(4, 8), kernel_sizes=(3, 3)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='MIMOClsHead', num_classes=num_classes, in_channels=8))


def teachers_cfg(ckpt=None):
    return {
        name:
        dict(model=tiny_classifier(num_classes=4, in_channels=c), ckpt=ckpt)
        for name, c in zip(NAMES, SLOTS)
    }


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='MultiModalMIMO',
            student=student_cfg(),
            teachers=teachers_cfg(),
            **kwargs))
    model.init_weights()
    return model


def batch(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, 8, 8, generator=g)
    labels = torch.randint(0, 4, (n, 3), generator=g)
    samples = []
    for row in labels:
        s = DataSample().set_gt_label(int(row[0]))
        s.set_field(row, 'slot_labels')
        samples.append(s)
    return x, labels, samples


class Constant(nn.Module):
    """A teacher whose logits ignore the input."""

    def __init__(self, logits):
        super().__init__()
        self.register_buffer('logits', logits)

    def forward(self, x, mode='tensor'):
        return self.logits.expand(x.size(0), -1)


class Recorder(nn.Module):
    """A teacher that remembers its input."""

    def forward(self, x, mode='tensor'):
        self.seen = x.clone()
        return torch.zeros(x.size(0), 4)


def kl_t2(student, teacher, T):
    p_t = F.softmax(teacher / T, dim=1)
    return T**2 * (p_t *
                   (p_t.log() - F.log_softmax(student / T, 1))).sum(1).mean()


def test_loss_equals_an_independent_computation():
    model = build(kd_loss=dict(type='KDLoss', temperature=3.0)).double()
    x, labels, samples = batch()
    x = x.double()
    losses = model(x, samples, mode='loss')
    with torch.no_grad():
        z = model.student(x)  # (N, M, C)
        starts = [0, 3, 4, 6]
        teacher = [
            model.teachers[n](x[:, starts[m]:starts[m + 1]])
            for m, n in enumerate(NAMES)
        ]
    l_m = sum(F.cross_entropy(z[:, m], labels[:, m]) for m in range(3))
    l_kd = sum(kl_t2(z[:, m], teacher[m], 3.0) for m in range(3))
    torch.testing.assert_close(losses['loss_cls'], l_m)
    torch.testing.assert_close(losses['loss_kd'], l_kd)
    for m, name in enumerate(NAMES):
        torch.testing.assert_close(losses[f'kd_{name}'],
                                   kl_t2(z[:, m], teacher[m], 3.0))
    assert not any('loss' in k for k in losses if k.startswith('kd_'))


def test_teacher_m_sees_slot_m_only():
    model = build()
    for name in NAMES:
        model.teachers[name] = Recorder()
    x, _, samples = batch()
    model(x, samples, mode='loss')
    torch.testing.assert_close(model.teachers['fluo'].seen, x[:, 0:3])
    torch.testing.assert_close(model.teachers['red'].seen, x[:, 3:4])
    torch.testing.assert_close(model.teachers['green'].seen, x[:, 4:6])


@pytest.mark.parametrize('slot', [0, 1, 2])
def test_teacher_m_is_compared_with_head_m(slot):
    """Head ``slot`` outputs constant logits (zero weights, a bias); only
    the teacher of that slot returns the same logits, so only its KL is 0."""
    model = build()
    target = torch.tensor([2.0, -1.0, 0.5, 0.0])
    with torch.no_grad():
        model.student.head.fc.weight.zero_()
        bias = torch.randn(3, 4)
        bias[slot] = target
        model.student.head.fc.bias.copy_(bias.flatten())
    for m, name in enumerate(NAMES):
        model.teachers[name] = Constant(
            target if m == slot else torch.tensor([-3.0, 4.0, 1.0, 2.0]))
    x, _, samples = batch()
    losses = model(x, samples, mode='loss')
    for m, name in enumerate(NAMES):
        if m == slot:
            assert losses[f'kd_{name}'].abs() < 1e-6
        else:
            assert losses[f'kd_{name}'] > 0.1


def test_teachers_frozen_and_predict_averages_student_heads():
    model = build()
    before = {k: v.clone() for k, v in model.teachers.state_dict().items()}
    optim = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    assert not any(t.training for t in model.teachers.values())
    x, _, samples = batch()
    losses = model(x, samples, mode='loss')
    (losses['loss_cls'] + losses['loss_kd']).backward()
    optim.step()
    for k, v in model.teachers.state_dict().items():
        assert torch.equal(v, before[k]), k
    model.eval()
    with torch.no_grad():
        preds = model(x, batch()[2], mode='predict')
        probs = model.student(x).softmax(-1)
    torch.testing.assert_close(preds[0].pred_score, probs[0].mean(0))
    torch.testing.assert_close(preds[0].head_scores, probs[0])


def test_teachers_load_from_a_late_fusion_checkpoint(tmp_path):
    torch.manual_seed(3)
    late = MODELS.build(
        dict(
            type='LateFusionClassifier',
            slot_channels=SLOTS,
            members={
                n: dict(model=c['model'])
                for n, c in teachers_cfg().items()
            }))
    ckpt = str(tmp_path / 'late.pth')
    torch.save({'state_dict': late.state_dict()}, ckpt)
    model = MODELS.build(
        dict(
            type='MultiModalMIMO',
            student=student_cfg(),
            teachers=teachers_cfg(ckpt)))
    model.init_weights()  # must not re-initialise loaded teachers
    for name in NAMES:
        for a, b in zip(model.teachers[name].model.state_dict().values(),
                        late.members[name].state_dict().values()):
            assert torch.equal(a, b)
    bad = teachers_cfg(ckpt)
    bad['blue'] = bad.pop('green')
    with pytest.raises(KeyError, match='members.*set model.teachers.blue.member'):
        MODELS.build(
            dict(type='MultiModalMIMO', student=student_cfg(), teachers=bad))


def test_needs_one_teacher_per_slot_and_a_mimo_student():
    teachers = teachers_cfg()
    teachers.pop('green')
    with pytest.raises(ValueError, match='one teacher per slot'):
        MODELS.build(
            dict(
                type='MultiModalMIMO',
                student=student_cfg(),
                teachers=teachers))
    with pytest.raises(TypeError, match='MIMOClassifier'):
        MODELS.build(
            dict(
                type='MultiModalMIMO',
                student=tiny_classifier(4, in_channels=6),
                teachers=teachers_cfg()))
