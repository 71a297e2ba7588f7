"""The distiller example in docs/tutorials/add_a_distiller.md works."""
import os.path as osp
import re

import torch
from mmengine.config import Config
import torch.nn.functional as F
from mmpretrain.structures import DataSample

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
        z_t = model.teachers.t(inputs, mode='tensor')
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
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
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
