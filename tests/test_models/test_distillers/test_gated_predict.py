"""Predictions of a gated distiller run the teachers only when asked to
(eval_teachers) or when the gate weighs them by their outputs; tools/test.py
loads the teachers' files only then."""
import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from conftest import tiny_runner_cfg
from medkd.apis.evaluate import skip_teacher_loading
from medkd.registry import MODELS

GATED = 'configs/demo/gated_resnet18_convnet_cells.py'


def gated(tmp_path, gate=None, eval_teachers=False):
    cfg = tiny_runner_cfg(GATED, tmp_path, tmp_path / 'data')
    for teacher in cfg.model.teachers.values():
        teacher.ckpt = None
    if gate is not None:
        cfg.model.gate = gate
    cfg.model.eval_teachers = eval_teachers
    return cfg


def teacher_calls(model):
    calls = []
    for teacher in model.teachers.values():
        teacher.register_forward_hook(lambda *args: calls.append(1))
    return calls


@pytest.mark.parametrize('gate,eval_teachers,runs', [
    (None, False, False),  # ImageGate: from the image alone
    (dict(type='MeanGate'), False, False),
    (dict(type='CAMKDGate'), False, True),
    (dict(type='ConfidenceGate'), False, True),
    (None, True, True),  # the teachers' scores are asked for
])
def test_predict_runs_the_teachers_only_when_needed(tmp_path, gate,
                                                    eval_teachers, runs):
    cfg = gated(tmp_path, gate, eval_teachers)
    model = MODELS.build(cfg.model).eval()
    calls = teacher_calls(model)
    samples = [DataSample().set_gt_label(i % 4) for i in range(3)]
    with torch.no_grad():
        out = model.predict(torch.randn(3, 3, 16, 16), samples)
    assert bool(calls) is runs
    weights = torch.stack([s.gate_weights for s in out])
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    assert ('pred_score_resnet18' in out[0]) is eval_teachers
    # tools/test.py skips loading the teachers' files exactly when they
    # take no part
    skipped = skip_teacher_loading(Config(cfg.to_dict()))
    assert skipped == ([] if runs else ['resnet18', 'convnet_wide'])


class _UndeclaredGate(torch.nn.Module):
    """A gate written as in docs/tutorials/add_a_distiller.md, without
    ``uses_teacher_outputs``: it reads the teachers' probabilities."""

    def __init__(self, num_teachers, head_kind='softmax'):
        super().__init__()
        self.num_teachers = num_teachers

    def forward(self, x, teacher_probs=None, labels=None):
        confidence = teacher_probs.max(2).values  # (N, K)
        return confidence / confidence.sum(1, keepdim=True)


def test_a_gate_that_declares_nothing_gets_its_teachers_on_both_paths(
        tmp_path):
    """predict and tools/test.py read one declaration with one default:
    an undeclared gate needs the teachers (before: predict ran them, but
    tools/test.py left them at random weights, so the dumped gate weights
    were garbage)."""
    MODELS.register_module('UndeclaredGate', module=_UndeclaredGate,
                           force=True)
    cfg = gated(tmp_path, dict(type='UndeclaredGate'))
    model = MODELS.build(cfg.model).eval()
    assert model.predict_needs_teachers()
    assert skip_teacher_loading(Config(cfg.to_dict())) == []
