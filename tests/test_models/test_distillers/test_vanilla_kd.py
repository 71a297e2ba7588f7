import copy
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from medkd.utils.checkpoint import UnsafeCheckpointError
from conftest import tiny_classifier


def _batch(n=4, num_classes=3, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 255, (n, 3, size, size), generator=g).float()
    labels = torch.arange(n) % num_classes
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return dict(inputs=inputs, data_samples=samples), labels


@pytest.fixture
def teacher_ckpt(tmp_path):
    torch.manual_seed(1)
    teacher = MODELS.build(tiny_classifier(channels=(8, 16)))
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return str(path), teacher


def _kd(ckpt, cls_weight=0.3, kd_weight=0.7, temperature=3.0, **kwargs):
    return MODELS.build(
        dict(type='VanillaKD',
             student=tiny_classifier(),
             teachers=dict(big=dict(model=tiny_classifier(channels=(8, 16)),
                                    ckpt=ckpt)),
             cls_weight=cls_weight,
             kd_weight=kd_weight,
             kd_loss=dict(type='KDLoss', temperature=temperature),
             **kwargs))


def test_teacher_loaded_frozen_and_pinned_to_eval(teacher_ckpt):
    path, reference = teacher_ckpt
    model = _kd(path)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.teachers.big.model.state_dict()[key],
                                   value)
    model.init_weights()  # must not re-initialise a loaded teacher
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.teachers.big.model.state_dict()[key],
                                   value)
    model.train()
    assert model.student.training
    assert not any(m.training for m in model.teachers.modules())
    assert not any(p.requires_grad for p in model.teachers.parameters())


def test_loss_equals_independent_computation(teacher_ckpt):
    path, reference = teacher_ckpt
    model = _kd(path, cls_weight=0.3, kd_weight=0.7, temperature=3.0)
    model.train()
    data, labels = _batch()
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_kd'}

    reference.eval()
    with torch.no_grad():
        z_t = reference(data['inputs'], mode='tensor')
        z_s = model.student(data['inputs'], mode='tensor')
    T = 3.0
    p_t = F.softmax(z_t / T, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(z_s / T, 1))).sum(1).mean()
    ce = F.cross_entropy(z_s, labels)
    torch.testing.assert_close(losses['loss_cls'], 0.3 * ce)
    torch.testing.assert_close(losses['loss_kd'], 0.7 * T**2 * kl)


def test_train_step_updates_student_only(teacher_ckpt):
    model = _kd(teacher_ckpt[0])
    model.train()
    teacher_before = copy.deepcopy(model.teachers.state_dict())
    student_before = copy.deepcopy(model.student.state_dict())
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    data, _ = _batch()
    log_vars = model.train_step(data, optim)
    assert 'loss_kd' in log_vars and 'loss_cls' in log_vars
    for key, value in model.teachers.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key
    changed = [k for k, v in model.student.state_dict().items()
               if v.is_floating_point() and not torch.equal(
                   v, student_before[k])]
    assert any('backbone' in k for k in changed)
    assert any('head' in k for k in changed)


def test_predict_returns_student_samples_and_teacher_scores(teacher_ckpt):
    model = _kd(teacher_ckpt[0], eval_teachers=True)
    model.eval()
    data, _ = _batch()
    preds = model.val_step(data)
    assert len(preds) == 4 and all(isinstance(p, DataSample) for p in preds)
    with torch.no_grad():
        x = model.data_preprocessor(data)['inputs']
        z_s = model.student(x, mode='tensor')
        z_t = model.teachers.big.model(x, mode='tensor')
    torch.testing.assert_close(
        torch.stack([p.pred_score for p in preds]), F.softmax(z_s, 1))
    torch.testing.assert_close(
        torch.stack([p.pred_score_big for p in preds]), F.softmax(z_t, 1))


def test_errors_name_the_teacher_and_path(tmp_path, teacher_ckpt):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _kd(str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match=r'teachers.big.model.head.'
                       r'num_classes is 5 but model.student.head.num_classes is 3'):
        MODELS.build(
            dict(type='VanillaKD', student=tiny_classifier(),
                 teachers=dict(big=dict(model=tiny_classifier(5)))))
    other = MODELS.build(tiny_classifier(channels=(4, 4)))
    wrong = tmp_path / 'other_arch.pth'
    torch.save({'state_dict': other.state_dict()}, wrong)
    with pytest.raises(RuntimeError, match='other_arch.pth.*teachers.big'):
        _kd(str(wrong))
    with pytest.raises(ValueError, match='exactly one teacher'):
        MODELS.build(
            dict(type='VanillaKD', student=tiny_classifier(),
                 teachers=dict(a=dict(model=tiny_classifier()),
                               b=dict(model=tiny_classifier()))))


class _Exploit:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target, ))


def test_checkpoint_whose_pickle_runs_code_is_refused(tmp_path):
    target = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Exploit(str(target))}, evil)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth.*posix.mkdir'):
        _kd(str(evil))
    assert not target.exists()


def test_channels_last_gives_the_same_losses(teacher_ckpt):
    data, _ = _batch()
    losses = {}
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = _kd(teacher_ckpt[0], channels_last=channels_last)
        model.train()
        batch = model.data_preprocessor(data, True)
        losses[channels_last] = model(**batch, mode='loss')
    weight = next(model.student.backbone.parameters())
    assert weight.is_contiguous(memory_format=torch.channels_last)
    for key in ('loss_cls', 'loss_kd'):
        torch.testing.assert_close(losses[True][key], losses[False][key])


def test_one_weight_vocabulary_old_names_and_bad_weights_are_refused(
        teacher_ckpt):
    path = teacher_ckpt[0]
    # the distillation weight is kd_weight and the temperature lives in
    # kd_loss only: the old names are not silently accepted
    for old in (dict(alpha=0.5), dict(temperature=2.0)):
        with pytest.raises(TypeError, match=list(old)[0]):
            MODELS.build(
                dict(type='VanillaKD', student=tiny_classifier(),
                     teachers=dict(big=dict(model=tiny_classifier(
                         channels=(8, 16)), ckpt=path)), **old))
    with pytest.raises(ValueError, match='model.kd_weight'):
        _kd(path, kd_weight=-1.0)
    model = _kd(path, cls_weight=1.0, kd_weight=2.0)
    data, _ = _batch()
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    unweighted = _kd(path, cls_weight=1.0, kd_weight=1.0)
    unweighted.student.load_state_dict(model.student.state_dict())
    unweighted = unweighted(**data, mode='loss')
    torch.testing.assert_close(losses['loss_kd'], 2 * unweighted['loss_kd'])
    torch.testing.assert_close(losses['loss_cls'], unweighted['loss_cls'])
