import json

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from medkd.models.teachers import RouteTeacher
from medkd.registry import MODELS
from conftest import tiny_classifier


def _batch(n=4, num_classes=3, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 255, (n, 3, size, size), generator=g).float()
    labels = torch.arange(n) % num_classes
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return dict(inputs=inputs, data_samples=samples), labels


@pytest.fixture
def route(tmp_path):
    """Three teacher checkpoints (as TeacherRouteSaverHook writes them)."""
    paths = []
    for i in range(3):
        torch.manual_seed(10 + i)
        teacher = MODELS.build(tiny_classifier(channels=(8, 16)))
        paths.append(str(tmp_path / f'route_epoch_{5 * (i + 1)}.pth'))
        torch.save(
            {
                'state_dict': teacher.state_dict(),
                'meta': {
                    'epoch': 5 * (i + 1)
                }
            }, paths[-1])
    return paths


def _cs(route=None, ckpt=None, kd_weight=0.5, temperature=5.0):
    return MODELS.build(
        dict(
            type='CheckpointSequence',
            student=tiny_classifier(),
            teachers=dict(
                big=dict(model=tiny_classifier(channels=(8, 16)), ckpt=ckpt)),
            route=route,
            cls_weight=1 - kd_weight,
            kd_weight=kd_weight,
            kd_loss=dict(type='KDLoss', temperature=temperature)))


def _teacher_equals(model, path):
    expected = torch.load(path, weights_only=True)['state_dict']
    state = model.teachers.big.model.state_dict()
    return all(torch.equal(state[k], v) for k, v in expected.items())


def test_loss_equals_independent_computation(route):
    model = _cs(dict(checkpoints=route), kd_weight=0.3, temperature=5.0)
    model.teachers.big.switch(2)
    model.train()
    data, labels = _batch()
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_kd'}

    reference = MODELS.build(tiny_classifier(channels=(8, 16)))
    reference.load_state_dict(
        torch.load(route[2], weights_only=True)['state_dict'])
    reference.eval()
    with torch.no_grad():
        z_t = reference(data['inputs'], mode='tensor')
        z_s = model.student(data['inputs'], mode='tensor')
    T = 5.0
    p_t = F.softmax(z_t / T, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(z_s / T, 1))).sum(1).mean()
    torch.testing.assert_close(losses['loss_cls'],
                               0.7 * F.cross_entropy(z_s, labels))
    torch.testing.assert_close(losses['loss_kd'], 0.3 * T**2 * kl)


def test_starts_from_first_checkpoint_and_loads_others_frozen(route):
    model = _cs(dict(checkpoints=route, interval=5))
    assert _teacher_equals(model, route[0])
    model.init_weights()  # must not re-initialise the route's teacher
    assert _teacher_equals(model, route[0])
    model.train()
    assert model.teachers.big.switch(1) == route[1]
    assert _teacher_equals(model, route[1]) and model.teachers.big.route_index == 1
    assert not any(m.training for m in model.teachers.modules())
    assert not any(p.requires_grad for p in model.teachers.parameters())
    # only paths and epochs are kept, not the checkpoints' tensors
    assert all(
        isinstance(v, (str, int, type(None))) for entry in model.teachers.big.route
        for v in entry.values())


def test_interval_schedule(route):
    model = _cs(dict(checkpoints=route, interval=5))
    assert [model.teachers.big.index_at(e) for e in range(17)] == \
        [min(e // 5, 2) for e in range(17)]
    assert not model.teachers.big.exhausted(14) and model.teachers.big.exhausted(15)


def test_manifest_spans_follow_the_teacher_epochs(route, tmp_path):
    manifest = tmp_path / 'manifest.json'
    entries = [{
        'epoch': e,
        'file': f'route_epoch_{e}.pth'
    } for e in (5, 10, 15)]
    manifest.write_text(json.dumps(entries))
    model = _cs(dict(manifest=str(manifest)))
    assert [e['file'] for e in model.teachers.big.route] == route  # relative to manifest
    assert [model.teachers.big.index_at(e) for e in range(17)] == \
        [min(e // 5, 2) for e in range(17)]
    assert model.teachers.big.exhausted(15) and not model.teachers.big.exhausted(14)
    # unevenly spaced: ckpt of epoch k teaches from the previous one's epoch
    manifest.write_text(
        json.dumps([{
            'epoch': 2,
            'file': 'route_epoch_5.pth'
        }, {
            'epoch': 7,
            'file': 'route_epoch_10.pth'
        }]))
    model = _cs(dict(manifest=str(manifest)))
    assert [model.teachers.big.index_at(e) for e in range(9)] == \
        [0, 0, 1, 1, 1, 1, 1, 1, 1]
    # an explicit interval overrides the manifest's epochs
    model = _cs(dict(manifest=str(manifest), interval=3))
    assert [model.teachers.big.index_at(e) for e in range(7)] == \
        [0, 0, 0, 1, 1, 1, 1]


def test_missing_route_checkpoint_fails_at_build_naming_path_and_key(
        route, tmp_path):
    missing = str(tmp_path / 'gone.pth')
    with pytest.raises(FileNotFoundError) as err:
        _cs(dict(checkpoints=[route[0], missing, route[2]]))
    assert missing in str(err.value)
    assert 'model.route.checkpoints[1]' in str(err.value)

    manifest = tmp_path / 'manifest.json'
    manifest.write_text(
        json.dumps([{
            'epoch': 5,
            'file': 'route_epoch_5.pth'
        }, {
            'epoch': 10,
            'file': 'gone.pth'
        }]))
    with pytest.raises(
            FileNotFoundError,
            match=r'gone.pth.*model.route.manifest.*entry 1'):
        _cs(dict(manifest=str(manifest)))
    with pytest.raises(
            FileNotFoundError, match=r'nowhere.json.*model.route.manifest'):
        _cs(dict(manifest=str(tmp_path / 'nowhere.json')))
    with pytest.raises(FileNotFoundError, match=r'model.route.schedule\[1\]'):
        _cs(dict(schedule=[(0, route[0]), (3, missing)]))


def test_unsafe_or_mismatched_route_checkpoint_fails_at_build(route, tmp_path):

    class Payload:

        def __reduce__(self):
            return (print, ('code ran', ))

    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': Payload()}, evil)
    with pytest.raises(
            RuntimeError, match=r'evil.pth.*model.route.checkpoints\[1\]'):
        _cs(dict(checkpoints=[route[0], evil]))

    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': MODELS.build(tiny_classifier()).state_dict()},
               other)
    with pytest.raises(
            ValueError, match=r'other.pth.*model.route.checkpoints\[2\]'):
        _cs(dict(checkpoints=[route[0], route[1], other]))


def test_route_config_errors(route):
    with pytest.raises(ValueError, match='exactly one of'):
        _cs(dict(checkpoints=route, schedule=[(0, route[0])]))
    with pytest.raises(ValueError, match='begin at 0'):
        _cs(dict(schedule=[(2, route[0])]))
    with pytest.raises(ValueError, match='route both set'):
        _cs(dict(checkpoints=route), ckpt=route[1])
    with pytest.raises(ValueError, match='exactly one teacher'):
        MODELS.build(
            dict(
                type='CheckpointSequence',
                student=tiny_classifier(),
                teachers=dict(
                    a=dict(model=tiny_classifier()),
                    b=dict(model=tiny_classifier()))))


def test_without_route_it_is_vanilla_kd_from_the_initial_teacher(route):
    model = _cs(None, ckpt=route[1], kd_weight=0.4, temperature=3.0)
    assert not isinstance(model.teachers.big, RouteTeacher)
    assert _teacher_equals(model, route[1])
    vanilla = MODELS.build(
        dict(
            type='VanillaKD',
            student=tiny_classifier(),
            teachers=dict(
                big=dict(
                    model=tiny_classifier(channels=(8, 16)), ckpt=route[1])),
            cls_weight=0.6,
            kd_weight=0.4,
            kd_loss=dict(type='KDLoss', temperature=3.0)))
    vanilla.student.load_state_dict(model.student.state_dict())
    data, _ = _batch()
    data = model.data_preprocessor(data, True)
    ours, theirs = model(**data, mode='loss'), vanilla(**data, mode='loss')
    for key in ('loss_cls', 'loss_kd'):
        torch.testing.assert_close(ours[key], theirs[key])
