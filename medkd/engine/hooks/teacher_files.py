"""Distiller checkpoints name their frozen teachers' files instead of
storing their weights."""
import os.path as osp

from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from medkd.registry import HOOKS
from medkd.utils.checkpoint import file_sha256, unwrap_model


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
    path, 'sha256': hex}}``; with the route position ``meta['route_index']``
    of :class:`TeacherSwitchHook` for a checkpoint sequence), and when a
    checkpoint is loaded (``--resume``, ``load_from``, ``tools/test.py``)
    checks that the teachers the model holds are those files: a teacher
    loaded from another file, or a file whose content changed, is an error
    naming the teacher and the file. Teachers that were not loaded
    (``tools/test.py`` without ``eval_teachers``) are not checked: they do
    not take part.

    :class:`~medkd.engine.runner.MedKDRunner` registers it automatically;
    it does nothing for a model without teachers.
    """

    priority = 'LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        files = getattr(unwrap_model(runner.model), 'teacher_files', None)
        if files:
            checkpoint.setdefault('meta', {})['teacher_files'] = {
                name: dict(entry) for name, entry in files.items()
            }

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = unwrap_model(runner.model)
        saved = (checkpoint.get('meta') or {}).get('teacher_files') or {}
        held = getattr(model, 'teacher_files', None)
        if held is None or not saved:
            return
        route_teacher = getattr(model, 'teacher_name', None) if getattr(
            model, 'route', None) else None
        for name, entry in saved.items():
            if name not in held:
                continue  # not loaded: the teacher takes no part here
            if held[name]['sha256'] == entry['sha256']:
                continue
            if name == route_teacher:
                # TeacherSwitchHook reloads the route checkpoint of the
                # resumed epoch; its file must still be the one trained with
                self._check_unchanged(name, entry)
                continue
            raise TeacherFileChangedError(
                f'The checkpoint was trained with teachers.{name} = '
                f'{entry["ckpt"]} (sha256 {entry["sha256"][:12]}…), but the '
                f'config loads {held[name]["ckpt"]} (sha256 '
                f'{held[name]["sha256"][:12]}…) into it: another teacher, '
                'or '
                'the file changed since. Point model.teachers.'
                f'{name}.ckpt at the file the run was trained with.')
        MMLogger.get_current_instance().info(
            'Teacher files match the checkpoint: ' + ', '.join(
                f'{n}={e["ckpt"]}' for n, e in saved.items() if n in held))

    @staticmethod
    def _check_unchanged(name: str, entry: dict) -> None:
        path = entry['ckpt']
        if not osp.isfile(path):
            raise TeacherFileChangedError(
                f'teachers.{name}: the route checkpoint {path} the '
                'checkpoint was trained with is missing.')
        digest = file_sha256(path)
        if digest != entry['sha256']:
            raise TeacherFileChangedError(
                f'teachers.{name}: the route checkpoint {path} changed since '
                f'the checkpoint was saved (sha256 {entry["sha256"][:12]}… '
                f'then, {digest[:12]}… now).')
