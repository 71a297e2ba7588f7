"""The frozen teacher component (medkd/models/teachers) and the traps of
the design it replaced: two records of one teacher's file drifting apart, a
late-fusion teacher that could not be restored, a custom distiller whose
predictions need teachers that tools/test.py left unloaded, and kd_loss=None
meaning different losses in different distillers."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

from medkd.apis.evaluate import skip_teacher_loading
from medkd.models.distillers import BaseDistiller, VanillaKD, is_distiller
from medkd.models.teachers import FrozenTeacher, RouteTeacher
from medkd.registry import MODELS
from conftest import tiny_classifier


def _save(path, seed, **model):
    torch.manual_seed(seed)
    classifier = MODELS.build(tiny_classifier(**model))
    torch.save({'state_dict': classifier.state_dict()}, str(path))
    return classifier.state_dict()


def _kd(teacher, **kwargs):
    return MODELS.build(dict(type='VanillaKD', student=tiny_classifier(),
                             teachers=dict(t=teacher), **kwargs))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_file_teacher_is_left_out_of_checkpoints_and_restored(tmp_path):
    weights = _save(tmp_path / 't.pth', 1)
    model = _kd(dict(model=tiny_classifier(), ckpt=str(tmp_path / 't.pth')))
    teacher = model.teachers.t
    assert _same(teacher.model.state_dict(), weights)
    assert not [k for k in model.state_dict() if k.startswith('teachers.')]
    assert model.teacher_files == {'t': teacher.file}
    assert teacher.file['ckpt'] == str(tmp_path / 't.pth')
    # a teacher without a file is part of the checkpoint
    free = _kd(dict(model=tiny_classifier()))
    assert any(k.startswith('teachers.t.model.') for k in free.state_dict())
    assert free.teacher_files == {}

    inputs = torch.randn(2, 3, 8, 8)
    before = teacher(inputs)
    assert teacher.release() > 0 and teacher.released
    with pytest.raises(RuntimeError, match='model.teachers.t is released'):
        teacher(inputs)
    # loading a (student-only) checkpoint gives the weights back from file
    model.load_state_dict(model.state_dict(), strict=True)
    assert not teacher.released
    torch.testing.assert_close(teacher(inputs), before, rtol=0, atol=0)


def test_one_record_of_a_route_teachers_file(tmp_path):
    """Before, ``teacher_ckpts`` kept the route's first file while
    ``teacher_files`` followed the switches: two records, one stale."""
    paths = [str(tmp_path / f'r{i}.pth') for i in range(2)]
    states = [_save(p, i) for i, p in enumerate(paths)]
    model = MODELS.build(dict(
        type='CheckpointSequence', student=tiny_classifier(),
        teachers=dict(t=dict(model=tiny_classifier())),
        route=dict(checkpoints=paths, interval=1)))
    teacher = model.teachers.t
    assert isinstance(teacher, RouteTeacher) and teacher.ckpt == paths[0]
    teacher.switch(1)
    assert teacher.ckpt == paths[1] == model.teacher_files['t']['ckpt']
    assert _same(teacher.model.state_dict(), states[1])
    teacher.release()
    teacher.restore()  # from the file it holds now, not the first one
    assert _same(teacher.model.state_dict(), states[1])


def test_a_late_fusion_teacher_released_and_restored(tmp_path):
    """Before, restoring a teacher loaded from a late-fusion checkpoint
    failed: the file was reloaded as the teacher's own checkpoint."""
    fusion = MODELS.build(dict(
        type='LateFusionClassifier', slot_channels=(3, 1),
        members=dict(rgb=dict(model=tiny_classifier()),
                     fluo=dict(model=tiny_classifier(in_channels=1)))))
    torch.save({'state_dict': fusion.state_dict()}, str(tmp_path / 'lf.pth'))
    model = MODELS.build(dict(
        type='MultiModalMIMO',
        student=dict(
            type='MIMOClassifier', slot_channels=(3, 1),
            backbone=dict(type='SimpleConvNet', channels=(4, 8),
                          kernel_sizes=(3, 3)),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='MIMOClsHead', num_classes=3, in_channels=8)),
        teachers=dict(
            rgb=dict(model=tiny_classifier(), ckpt=str(tmp_path / 'lf.pth')),
            fluo=dict(model=tiny_classifier(in_channels=1),
                      ckpt=str(tmp_path / 'lf.pth')))))
    for name in ('rgb', 'fluo'):
        teacher = model.teachers[name]
        expected = fusion.members[name].state_dict()
        assert _same(teacher.model.state_dict(), expected)
        teacher.release()
        teacher.restore()
        assert _same(teacher.model.state_dict(), expected)


@MODELS.register_module()
class _TeacherScoresKD(VanillaKD):
    """A custom distiller whose predictions always carry the teacher's
    scores: it declares so once."""

    @classmethod
    def teachers_needed_to_predict(cls, options):
        return True

    def predict(self, inputs, data_samples=None):
        predictions = self.student.predict(inputs, data_samples)
        self.attach_teacher_scores(predictions, self.teacher_logits(inputs))
        return predictions


def test_a_distillers_predict_declaration_is_read_by_tools_test(tmp_path):
    """Before, tools/test.py (skip_teacher_loading) read eval_teachers and
    gates only: a custom distiller's teachers stayed at their random
    initialisation and its dumped teacher scores were garbage."""
    _save(tmp_path / 't.pth', 1)
    teacher = dict(model=tiny_classifier(), ckpt=str(tmp_path / 't.pth'))
    cfg = ConfigDict(model=dict(type='_TeacherScoresKD',
                                student=tiny_classifier(),
                                teachers=dict(t=dict(teacher))))
    assert skip_teacher_loading(cfg) == []
    assert cfg.model.teachers.t.ckpt == str(tmp_path / 't.pth')
    model = MODELS.build(cfg.model)
    assert model.predict_needs_teachers()
    # a plain VanillaKD declares it does not need them
    cfg = ConfigDict(model=dict(type='VanillaKD', student=tiny_classifier(),
                                teachers=dict(t=dict(teacher))))
    assert skip_teacher_loading(cfg) == ['t']
    assert not MODELS.build(cfg.model).predict_needs_teachers()


@pytest.mark.parametrize('multi_label', [False, True])
def test_kd_loss_none_means_one_loss_in_every_distiller(multi_label):
    """Before, TeacherAssistant chose its own default (no T² on BCE) and
    the others theirs (T² on BCE)."""
    student = tiny_classifier(multi_label=multi_label)
    teacher = dict(model=tiny_classifier(multi_label=multi_label))
    found = {}
    for kind, extra in [('VanillaKD', {}), ('TeacherAssistant', {}),
                        ('CheckpointSequence', {}),
                        ('GatedMultiTeacher', {})]:
        teachers = dict(t=teacher) if kind != 'GatedMultiTeacher' else dict(
            a=teacher, b=teacher)
        model = MODELS.build(dict(type=kind, student=student,
                                  teachers=teachers, **extra))
        loss = model.kd_loss
        found[kind] = (type(loss).__name__,
                       getattr(loss, 'scale_by_t2', None),
                       loss.temperature == model.default_temperature)
    assert len(set(found.values())) == 1, found
    name, t2, _ = found['VanillaKD']
    assert name == ('SoftBCELoss' if multi_label else 'KDLoss')
    assert t2 in (None, False)


def test_is_distiller_is_one_predicate_for_models_and_configs():
    model = _kd(dict(model=tiny_classifier()))
    assert is_distiller(model) and is_distiller(dict(type='VanillaKD'))
    assert is_distiller(dict(type='_TeacherScoresKD'))
    assert is_distiller(dict(type=VanillaKD))
    classifier = tiny_classifier()
    assert not is_distiller(classifier)  # a classifier config
    assert not is_distiller(MODELS.build(classifier))
    # a classifier config that happens to name a student is no distiller
    assert not is_distiller(dict(classifier, student=1, teachers=2))
    assert issubclass(type(model), BaseDistiller)


def test_teacher_entries_are_checked_against_the_teacher_kind():
    with pytest.raises(KeyError, match=r"model.teachers.t has unknown keys "
                       r"\['input_size'\].*resize_input"):
        _kd(dict(model=tiny_classifier(), input_size=32))
    with pytest.raises(KeyError, match=r"unknown keys \['route'\].*allowed "
                       'for FrozenTeacher'):
        _kd(dict(model=tiny_classifier(), route=dict(checkpoints=['x'])))
    with pytest.raises(TypeError, match='model.teachers.t.type must name a '
                       'FrozenTeacher kind'):
        _kd(dict(type='ImageClassifier', model=tiny_classifier()))
    # the gate's resize has the teachers' key; the old one is refused
    with pytest.raises(KeyError, match='model.gate.input_size is now '
                       'model.gate.resize_input'):
        MODELS.build(dict(
            type='GatedMultiTeacher', student=tiny_classifier(),
            teachers=dict(a=dict(model=tiny_classifier()),
                          b=dict(model=tiny_classifier())),
            gate=dict(type='ImageGate', input_size=8)))


def test_a_route_teacher_composes_with_any_distiller(tmp_path):
    """The route belongs to the teacher: a gated distiller with one route
    teacher moves it along its route through the switch hook, and leaves
    the other teacher alone."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from medkd.engine.hooks import TeacherSwitchHook
    paths = [str(tmp_path / f'r{i}.pth') for i in range(2)]
    states = [_save(p, i) for i, p in enumerate(paths)]
    fixed = _save(tmp_path / 'fixed.pth', 7)
    model = MODELS.build(dict(
        type='GatedMultiTeacher', student=tiny_classifier(),
        teachers=dict(
            moving=dict(type='RouteTeacher', model=tiny_classifier(),
                        route=dict(checkpoints=paths, interval=2)),
            still=dict(model=tiny_classifier(),
                       ckpt=str(tmp_path / 'fixed.pth')))))
    hook = TeacherSwitchHook()
    hub = MessageHub.get_instance('test_route_teacher_composes')
    hook.before_train(SimpleNamespace(model=model))
    for epoch, index in [(0, 0), (1, 0), (2, 1), (3, 1)]:
        hook.before_train_epoch(
            SimpleNamespace(model=model, epoch=epoch, message_hub=hub))
        assert _same(model.teachers.moving.model.state_dict(), states[index])
        assert _same(model.teachers.still.model.state_dict(), fixed)
    assert hook.active == {'moving': 1}


def test_the_teacher_kind_is_part_of_its_cache_key(tmp_path):
    """Two kinds of teacher with the same file compute different outputs:
    their caches must not be shared."""

    @MODELS.register_module(force=True)
    class _ScaledTeacher(FrozenTeacher):

        def compute_logits(self, inputs):
            return 2 * super().compute_logits(inputs)

    _save(tmp_path / 't.pth', 1)
    entry = dict(model=tiny_classifier(), ckpt=str(tmp_path / 't.pth'))
    plain = _kd(dict(entry)).teachers.t
    scaled = _kd(dict(entry, type='_ScaledTeacher')).teachers.t
    assert plain.weights_id() == scaled.weights_id()
    assert plain.cache_description() != scaled.cache_description()
    inputs = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(scaled(inputs), 2 * plain(inputs))


def test_teacher_outputs_come_from_its_cache_for_samples_that_have_rows():
    from mmpretrain.structures import DataSample
    model = _kd(dict(model=tiny_classifier()))
    teacher = model.teachers.t
    inputs = torch.randn(3, 3, 8, 8)
    rows = torch.arange(9, dtype=torch.float32).view(3, 3)

    class _Cache:

        def missing(self, indices):
            return np.zeros(len(indices), bool)

        def lookup(self, indices):
            return rows[torch.as_tensor(indices)]

    teacher.cache = _Cache()
    samples = [DataSample(metainfo=dict(cache_index=i)) for i in (2, 0, 1)]
    torch.testing.assert_close(teacher(inputs, samples), rows[[2, 0, 1]])
    # samples without rows (validation) run the teacher live
    torch.testing.assert_close(teacher(inputs, [DataSample()] * 3),
                               teacher.live_logits(inputs))
