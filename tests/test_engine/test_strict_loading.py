"""load_from / tools/test.py / --resume load checkpoints strictly and say
what is wrong."""
import pytest
import torch

from medkd.apis import build_runner
from medkd.registry import MODELS
from conftest import tiny_runner_cfg

STUDENT = 'configs/demo/convnet_student_cells.py'
WIDE = 'configs/demo/convnet_wide_teacher_cells.py'
KD = 'configs/demo/kd_convnet_wide_convnet_cells.py'


@pytest.fixture(scope='module')
def student_ckpt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('strict')
    runner = build_runner(
        tiny_runner_cfg(STUDENT, tmp / 'student', tmp / 'data', epochs=1))
    runner.train()
    return tmp, str(tmp / 'student' / 'epoch_1.pth')


def _test(tmp, config, ckpt, name):
    cfg = tiny_runner_cfg(config, tmp / name, tmp / 'data')
    cfg.load_from = ckpt
    if 'teachers' in cfg.model:
        for teacher in cfg.model.teachers.values():
            teacher.ckpt = None
    return build_runner(cfg)


def test_own_checkpoint_loads_and_scores_as_trained(student_ckpt):
    tmp, ckpt = student_ckpt
    metrics = _test(tmp, STUDENT, ckpt, 'ok').test()
    assert 'medical/accuracy' in metrics


def test_checkpoint_of_another_architecture_is_an_error(student_ckpt):
    tmp, ckpt = student_ckpt
    with pytest.raises(RuntimeError, match='does not fit') as error:
        _test(tmp, WIDE, ckpt, 'other').test()
    assert ckpt in str(error.value)
    assert 'size mismatch' in str(error.value) or 'missing' in str(
        error.value)


def test_distiller_checkpoint_for_a_classifier_says_how(student_ckpt):
    tmp, _ = student_ckpt
    cfg = tiny_runner_cfg(KD, tmp / 'kd', tmp / 'data')
    cfg.model.teachers.convnet_wide.ckpt = None
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    distiller = MODELS.build(cfg.model)
    path = str(tmp / 'kd.pth')
    torch.save({'state_dict': distiller.state_dict(), 'meta': {}}, path)
    with pytest.raises(RuntimeError, match='extract_student.py') as error:
        _test(tmp, STUDENT, path, 'distiller').test()
    assert path in str(error.value)
    # and a classifier checkpoint given to the distiller's config
    with pytest.raises(RuntimeError, match="teacher's `ckpt`"):
        _test(tmp, KD, student_ckpt[1], 'classifier').test()


def test_resume_with_another_models_checkpoint_names_the_file(student_ckpt):
    tmp, ckpt = student_ckpt
    cfg = tiny_runner_cfg(WIDE, tmp / 'resume', tmp / 'data', epochs=2)
    cfg.resume, cfg.load_from = True, ckpt
    with pytest.raises(RuntimeError, match='does not fit') as error:
        build_runner(cfg).train()
    assert ckpt in str(error.value)
