"""The distiller example in docs/tutorials/add_a_distiller.md works."""
import os.path as osp
import re

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from medkd.utils.config import load_config
from medkd.registry import MODELS
from conftest import tiny_classifier

DOC = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
               'docs', 'tutorials', 'add_a_distiller.md')


def _code_blocks():
    return re.findall(r'```python\n(.*?)```', open(DOC).read(), re.S)


def test_documented_subclass_builds_and_computes_its_formula():
    code = _code_blocks()[0]
    exec(compile(code, DOC, 'exec'), {})
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ConfidenceWeightedKD', student=tiny_classifier(),
             teachers=dict(t=dict(model=tiny_classifier())), cls_weight=0.3,
             kd_weight=0.7, kd_loss=dict(type='KDLoss', temperature=2.0)))
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = model.loss(inputs, samples)

    with torch.no_grad():
        z_t = model.teachers.t.model(inputs, mode='tensor')
    z_s = model.student(inputs, mode='tensor')
    p_t = F.softmax(z_t / 2, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(z_s / 2, 1))).sum(1)
    confidence = F.softmax(z_t, 1).max(1).values
    torch.testing.assert_close(losses['loss_kd'],
                               0.7 * 4 * (confidence * kl).mean())
    torch.testing.assert_close(
        losses['loss_cls'],
        0.3 * F.cross_entropy(z_s, torch.tensor([0, 1, 2, 0])))
    torch.testing.assert_close(losses['teacher_confidence'],
                               confidence.mean())


def test_documented_config_inherits_the_demo(tmp_path):
    # as written, from a folder outside the repository
    (tmp_path / 'cfg.py').write_text(_code_blocks()[1])
    cfg = load_config(str(tmp_path / 'cfg.py'))
    assert cfg.model.type == 'ConfidenceWeightedKD'
    assert cfg.model.kd_weight == 0.7
    assert 'kd_loss' not in cfg.model  # _delete_ dropped VanillaKD's keys
    assert cfg.model.teachers.resnet18.ckpt == cfg.teacher_ckpt


def test_documented_gate_plugs_into_the_gated_distiller():
    exec(compile(_code_blocks()[2], DOC, 'exec'), {})
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='GatedMultiTeacher', student=tiny_classifier(),
             teachers={f't{i}': dict(model=tiny_classifier())
                       for i in range(2)},
             gate=dict(type='LowEntropyGate', tau=0.5)))
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    logits, weights = model.gate_teachers(inputs, samples)
    p = F.softmax(logits, -1)
    entropy = -(p * p.log()).sum(-1)
    torch.testing.assert_close(weights, F.softmax(-entropy / 0.5, 1))
    assert model.loss(inputs, samples)['loss_kd'].item() >= 0


def test_documented_gate_declares_that_predict_needs_the_teachers():
    if MODELS.get('LowEntropyGate') is None:
        exec(compile(_code_blocks()[2], DOC, 'exec'), {})
    from medkd.apis.evaluate import skip_teacher_loading
    from mmengine.config import ConfigDict
    cfg = ConfigDict(model=dict(
        type='GatedMultiTeacher', student=tiny_classifier(),
        teachers={f't{i}': dict(model=tiny_classifier(), ckpt=f't{i}.pth')
                  for i in range(2)},
        gate=dict(type='LowEntropyGate')))
    assert skip_teacher_loading(cfg) == []  # loaded for its gate weights
    cfg.model.gate = dict(type='ImageGate')
    assert skip_teacher_loading(cfg) == ['t0', 't1']


def test_documented_teacher_kind_averages_the_flipped_view(tmp_path):
    code = _code_blocks()[3]
    assert len(code.splitlines()) < 60
    exec(compile(code, DOC, 'exec'), {})
    torch.manual_seed(0)
    classifier = MODELS.build(tiny_classifier()).eval()
    torch.save({'state_dict': classifier.state_dict()},
               str(tmp_path / 't.pth'))
    model = MODELS.build(
        dict(type='VanillaKD', student=tiny_classifier(),
             teachers=dict(t=dict(type='FlipTTATeacher',
                                  model=tiny_classifier(),
                                  ckpt=str(tmp_path / 't.pth'))),
             kd_loss=dict(type='KDLoss', temperature=2.0)))
    inputs = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        expected = (classifier(inputs, mode='tensor') + classifier(
            torch.flip(inputs, dims=[-1]), mode='tensor')) / 2
    torch.testing.assert_close(model.teacher_logits(inputs)['t'], expected)
    # the rest comes with the component: a file record, no weights in the
    # distiller's checkpoint, frozen
    assert model.teacher_files['t']['ckpt'] == str(tmp_path / 't.pth')
    assert not any(k.startswith('teachers.') for k in model.state_dict())
    assert not any(p.requires_grad for p in model.teachers.parameters())
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = model.loss(inputs, samples)
    z_s = model.student(inputs, mode='tensor')
    p_t = F.softmax(expected / 2, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(z_s / 2, 1))).sum(1).mean()
    torch.testing.assert_close(losses['loss_kd'], 0.5 * 4 * kl)


def test_user_code_of_each_extension_is_short():
    blocks = _code_blocks()
    for index in (0, 2, 3):  # distiller, gate, teacher kind
        assert len(blocks[index].splitlines()) <= 60, index
