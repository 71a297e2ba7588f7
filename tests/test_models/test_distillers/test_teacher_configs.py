"""Teachers built from the config they were trained with see the batch
normalised the way they were trained."""
import os.path as osp

import pytest
import torch
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from conftest import tiny_classifier

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
STUDENT_NORM = dict(mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375], to_rgb=True)
# e.g. a teacher trained in BGR with other statistics
TEACHER_NORM = dict(mean=[90.0, 100.0, 110.0], std=[30.0, 40.0, 50.0],
                    to_rgb=False)


def _raw_batch(n=3, size=16):
    torch.manual_seed(0)
    images = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=images,
                data_samples=[DataSample().set_gt_label(i % 3)
                              for i in range(n)])


def _distiller(teacher_entry):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='VanillaKD',
             student=tiny_classifier(),
             teachers=dict(t=teacher_entry),
             data_preprocessor=dict(type='ClsDataPreprocessor',
                                    **STUDENT_NORM)))


def _standalone_logits(teacher, preprocessor_cfg, batch):
    preprocessor = MODELS.build(dict(type='ClsDataPreprocessor',
                                     **preprocessor_cfg))
    with torch.no_grad():
        return teacher(preprocessor(batch, False)['inputs'], mode='tensor')


@pytest.mark.parametrize('teacher_norm', [TEACHER_NORM,
                                          dict(TEACHER_NORM, to_rgb=True)])
def test_teacher_with_other_normalisation_gets_its_own_inputs(teacher_norm):
    model = _distiller(dict(model=tiny_classifier(channels=(6, 8)),
                            data_preprocessor=teacher_norm))
    batch = _raw_batch()
    inputs = model.data_preprocessor(batch, False)['inputs']
    inside = model.teacher_logits(inputs)['t']
    expected = _standalone_logits(model.teachers.t.model, teacher_norm, batch)
    torch.testing.assert_close(inside, expected, rtol=1e-4, atol=1e-4)
    # without the renormalisation the teacher would see other inputs
    with torch.no_grad():
        wrong = model.teachers.t.model(inputs, mode='tensor')
    assert not torch.allclose(wrong, expected, atol=1e-3)


def test_same_normalisation_is_left_alone():
    model = _distiller(dict(model=tiny_classifier(),
                            data_preprocessor=STUDENT_NORM))
    assert model.teachers.t.norm_scale is None


def test_config_form_takes_model_and_preprocessor_from_the_file(tmp_path):
    teacher_cfg = tmp_path / 'teacher.py'
    teacher_cfg.write_text(
        f'_base_ = [{osp.join(ROOT, "configs/demo/resnet18_teacher_cells.py")!r}]\n'
        f'data_preprocessor = dict(mean={TEACHER_NORM["mean"]}, '
        f'std={TEACHER_NORM["std"]}, to_rgb=False)\n')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='VanillaKD', student=tiny_classifier(4),
             teachers=dict(t=dict(config=str(teacher_cfg))),
             data_preprocessor=dict(type='ClsDataPreprocessor',
                                    **STUDENT_NORM)))
    assert type(model.teachers.t.model.backbone).__name__ == 'ResNet'
    batch = _raw_batch()
    inputs = model.data_preprocessor(batch, False)['inputs']
    norm = dict(TEACHER_NORM, num_classes=4)
    torch.testing.assert_close(
        model.teacher_logits(inputs)['t'],
        _standalone_logits(model.teachers.t.model, norm, batch),
        rtol=1e-4, atol=1e-4)


def test_teacher_entry_errors_name_the_key(tmp_path):
    with pytest.raises(TypeError, match='model.teachers.t must be'):
        _distiller(dict(ckpt=None))
    with pytest.raises(TypeError, match='one of config / model'):
        _distiller(dict(model=tiny_classifier(), config='x.py'))
    with pytest.raises(FileNotFoundError, match='model.teachers.t.config'):
        _distiller(dict(config=str(tmp_path / 'missing.py')))
    with pytest.raises(KeyError, match='resize_input'):
        _distiller(dict(model=tiny_classifier(), input_size=32))
