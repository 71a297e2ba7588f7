"""Distiller checkpoints name their frozen teachers' files instead of
storing their weights."""
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medkd.models.distillers import is_distiller
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


class TeacherFileChangedError(RuntimeError):
    """A checkpoint's teacher file is missing or is not the file it was
    trained with."""


@HOOKS.register_module()
class TeacherFilesHook(Hook):
    """Store, and check, the teacher files of a distiller checkpoint.

    A distiller's ``state_dict`` leaves out the weights of every teacher
    loaded from a file (:class:`~medkd.models.distillers.BaseDistiller`),
    so a checkpoint holds the trainable parts (student, gate, connectors),
    optimizer and scheduler state. This hook writes each such teacher's
    file and its SHA-256 into ``meta['teacher_files']`` (``{name: {'ckpt':
    path, 'sha256': hex}}``, each teacher's
    :attr:`~medkd.models.teachers.FrozenTeacher.file`), and when a
    checkpoint is loaded (``--resume``, ``load_from``, ``tools/test.py``)
    asks each teacher whether it holds that file
    (:meth:`~medkd.models.teachers.FrozenTeacher.file_mismatch`; a route
    teacher accepts any unchanged file of its route): a teacher loaded from
    another file, or a file whose content changed, is an error naming the
    teacher and the file. Teachers that were not loaded
    (``tools/test.py`` without ``eval_teachers``) are not checked: they do
    not take part.

    :class:`~medkd.engine.runner.MedKDRunner` registers it automatically;
    it does nothing for a model without teachers.
    """

    priority = 'LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = unwrap_model(runner.model)
        if is_distiller(model) and model.teacher_files:
            checkpoint.setdefault('meta', {})['teacher_files'] = \
                model.teacher_files

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = unwrap_model(runner.model)
        saved = (checkpoint.get('meta') or {}).get('teacher_files') or {}
        if not is_distiller(model) or not saved:
            return
        checked = []
        for name, entry in saved.items():
            teacher = model.teachers[name] if name in model.teachers else None
            if teacher is None or teacher.file is None:
                continue  # not loaded: the teacher takes no part here
            reason = teacher.file_mismatch(entry)
            if reason:
                raise TeacherFileChangedError(reason)
            checked.append(f'{name}={entry["ckpt"]}')
        if checked:
            MMLogger.get_current_instance().info(
                'Teacher files match the checkpoint: ' + ', '.join(checked))
