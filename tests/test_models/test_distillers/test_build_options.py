"""Distiller options that used to be ignored: init_cfg, the student's batch
augments, a teacher cache the method cannot read."""
import pytest
import torch
from mmpretrain.structures import DataSample

from medkd.apis import build_runner
from medkd.registry import MODELS
from conftest import tiny_classifier, tiny_runner_cfg


def _kd(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='VanillaKD', student=kwargs.pop('student', tiny_classifier()),
             teachers=dict(t=dict(model=tiny_classifier())), **kwargs))


def test_distiller_init_cfg_reaches_student_and_connectors_not_teachers():
    # as in mmengine, a module's own init_cfg wins over its parent's: the
    # backbone here has none, so the distiller's applies
    student = tiny_classifier()
    student['backbone']['init_cfg'] = None
    model = _kd(student=student,
                init_cfg=dict(type='Constant', val=0.25, layer='Conv2d'))
    teacher_before = {
        k: v.clone() for k, v in model.teachers.t.model.state_dict().items()
    }
    # a teacher loaded from a file keeps its weights
    model.teachers.t.ckpt = 'loaded'
    model.init_weights()
    convs = [m for m in model.student.modules()
             if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(torch.all(c.weight == 0.25) for c in convs)
    for key, value in model.teachers.t.model.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key

    ta = MODELS.build(
        dict(type='TeacherAssistant',
             student=tiny_classifier(channels=(4, 8)),
             teachers=dict(t=dict(model=tiny_classifier(channels=(6, 12)))),
             feature_pairs=[
                 dict(student_stage=1, teacher_stage=1,
                      loss=dict(type='FeatureKLLoss'),
                      connector=dict(
                          type='ConvConnector',
                          init_cfg=dict(type='Constant', val=0.5,
                                        layer='Conv2d')))
             ],
             probe_shape=(3, 16, 16)))
    ta.init_weights()
    conv = [m for m in ta.connectors.modules()
            if isinstance(m, torch.nn.Conv2d)]
    assert conv and torch.all(conv[0].weight == 0.5)


def test_student_batch_augments_are_applied_and_teachers_see_the_mix():
    student = tiny_classifier()
    student['train_cfg'] = dict(augments=dict(type='Mixup', alpha=1.0))
    model = _kd(student=student,
                data_preprocessor=dict(type='ClsDataPreprocessor',
                                       num_classes=3))
    torch.manual_seed(1)
    images = [torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8)
              for _ in range(4)]
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    data = model.data_preprocessor(
        dict(inputs=images, data_samples=samples), True)
    plain = model.data_preprocessor(
        dict(inputs=images, data_samples=[
            DataSample().set_gt_label(i % 3) for i in range(4)]), False)
    assert not torch.allclose(data['inputs'], plain['inputs'])  # mixed
    assert min(s.gt_score.max() for s in data['data_samples']) < 1  # soft
    seen = {}
    model.teachers.t.register_forward_pre_hook(
        lambda m, args, kwargs: seen.update(x=args[0]), with_kwargs=True)
    model.loss(data['inputs'], data['data_samples'])
    torch.testing.assert_close(seen['x'], data['inputs'])


def test_teacher_cache_is_refused_where_it_cannot_be_read(tmp_path):
    cfg = tiny_runner_cfg('configs/demo/ta_convnet_assistant_cells.py',
                          tmp_path / 'w', tmp_path / 'data',
                          teacher_cache=dict(num_views=2))
    with pytest.raises(ValueError, match='TeacherAssistant.*live'):
        build_runner(cfg)
    cfg = tiny_runner_cfg('configs/demo/kd_resnet18_convnet_cells.py',
                          tmp_path / 'w2', tmp_path / 'data',
                          teacher_cache=dict(num_views=2))
    cfg.model.student.train_cfg = dict(augments=dict(type='CutMix',
                                                     alpha=1.0))
    with pytest.raises(ValueError, match='train_cfg.augments'):
        build_runner(cfg)
