from mmengine.hooks import Hook

from medkd.models.distillers.base import head_num_classes
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Fail before training when the data's classes and the model disagree.

    Compares the number of classes in the training dataset's metainfo with
    the student's (or the classifier's) ``head.num_classes``; teachers are
    checked against the student when a distiller is built.
    :class:`~medkd.engine.MedKDRunner` registers it automatically.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        student = getattr(model, 'student', model)
        expected = head_num_classes(student)
        dataset = runner.train_dataloader.dataset
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if expected is None or classes is None:
            return
        if len(classes) != expected:
            key = 'model.student' if student is not model else 'model'
            raise ValueError(
                f'train_dataloader.dataset ({type(dataset).__name__}) has '
                f'{len(classes)} classes {tuple(classes)} but '
                f'{key}.head.num_classes is {expected}. Set num_classes to '
                f'{len(classes)} in the head(s) and data_preprocessor.')
