"""One helper turns any checkpoint layout into classifier weights."""
import torch
import torch.nn as nn

from medkd.utils.checkpoint import load_classifier_weights
from medkd.registry import MODELS
from medkd.utils.checkpoint import classifier_state_dict, unwrap_model
from conftest import tiny_classifier


def test_ddp_and_distiller_prefixes_are_removed(tmp_path):
    torch.manual_seed(0)
    source = MODELS.build(tiny_classifier())
    weights = source.state_dict()
    layouts = {
        'plain': dict(weights),
        'ddp': {f'module.{k}': v for k, v in weights.items()},
        'distiller': {
            **{f'student.{k}': v for k, v in weights.items()},
            'teachers.t.head.fc.bias': torch.zeros(3)
        },
        'ddp_distiller': {f'module.student.{k}': v
                          for k, v in weights.items()},
    }
    for name, state in layouts.items():
        assert classifier_state_dict({'state_dict': state}).keys() == \
            weights.keys(), name
        path = tmp_path / f'{name}.pth'
        torch.save({'state_dict': state}, path)
        target = MODELS.build(tiny_classifier())
        load_classifier_weights(target, str(path), 'teachers.t')
        for key, value in weights.items():
            assert torch.equal(target.state_dict()[key], value), (name, key)
    # without the student prefix selection the whole dict stays
    kept = classifier_state_dict({'state_dict': layouts['distiller']},
                                 prefix=None)
    assert 'teachers.t.head.fc.bias' in kept


def test_unwrap_model_uses_mmengine_is_model_wrapper():
    from mmengine.model import MMDistributedDataParallel
    model = nn.Linear(2, 2)
    assert unwrap_model(model) is model
    wrapper = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapper)
    wrapper.module = model
    assert unwrap_model(wrapper) is model
