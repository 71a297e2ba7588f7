import numpy as np
from mmengine.hooks import Hook

from medkd.models.distillers import student_of
from medkd.models.head_kind import head_num_classes
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Fail before training when the data's classes and the model disagree.

    Compares the number of classes in the training dataset's metainfo with
    the student's (or the classifier's) ``head.num_classes`` (teachers are
    checked against the student when a distiller is built), and stops when
    a class has no training sample (e.g. an empty class folder of
    mmpretrain's ``CustomDataset``, which only logs a warning).
    :class:`~medkd.engine.MedKDRunner` registers it automatically.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        student = student_of(model)
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
        empty = empty_classes(dataset, classes)
        if empty:
            raise ValueError(
                f'train_dataloader.dataset ({type(dataset).__name__}) has no '
                f'training sample of the class(es) {empty} (an empty class '
                'folder?): the model could never learn them. Add samples or '
                'remove the class.')


def empty_classes(dataset, classes):
    """Names of single-label classes without a sample in ``dataset``
    (looking through wrappers such as ``AugmentationReplayDataset``);
    ``[]`` when the labels cannot be read cheaply or are multi-label."""
    while not hasattr(dataset, 'get_gt_labels') and hasattr(
            dataset, 'dataset'):
        dataset = dataset.dataset
    if not hasattr(dataset, 'get_gt_labels') or getattr(
            dataset, 'multi_label', False):
        return []
    try:
        labels = np.asarray(dataset.get_gt_labels())
    except (TypeError, ValueError, KeyError, AttributeError):
        return []
    if labels.dtype == object or labels.ndim != 1 or not len(labels):
        return []
    counts = np.bincount(labels.astype(np.int64), minlength=len(classes))
    return [classes[c] for c in np.flatnonzero(counts[:len(classes)] == 0)]
