"""Report each frozen teacher's validation metrics next to the student's."""
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from terminaltables import AsciiTable

from medkd.evaluation.metrics.medical_metric import compute_medical_metrics
from medkd.models.distillers import is_distiller
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


@HOOKS.register_module()
class TeacherValidationHook(Hook):
    """Evaluate every teacher of a distiller on the validation set, once.

    Teachers are frozen, so their metrics do not change: they are computed
    after the first validation (again only when a teacher's weights change,
    e.g. a :class:`~medkd.models.CheckpointSequence` route switch), logged
    as a table and stored in the message hub and visualiser as
    ``teacher/<name>/<metric>`` (the student's are ``medical/<metric>``),
    so teacher and student can be compared without configuring
    ``eval_teachers`` and extra metrics. The metrics are
    :func:`~medkd.evaluation.metrics.medical_metric.compute_medical_metrics`
    of each teacher's probabilities. :class:`~medkd.engine.MedKDRunner`
    registers it for every model with teachers. Only validations during
    training count: a ``runner.val()`` of a finished checkpoint (whose
    teachers may not even be loaded, see ``skip_teacher_loading``) does not
    evaluate them.

    Args:
        metrics (tuple[str]): The keys logged in the table (all are stored).
            Defaults to accuracy, weighted F1 and AUC.
    """

    priority = 'LOW'

    def __init__(self,
                 metrics=('accuracy', 'f1_weighted', 'auc', 'auc_mean')):
        self.metrics = tuple(metrics)
        self.evaluated: Dict[str, str] = {}
        self.training = False

    def before_train(self, runner) -> None:
        self.training = True

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        model = unwrap_model(runner.model)
        if not is_distiller(model) or not self.training or \
                runner.val_loop is None:
            return
        pending = {
            name: key
            for name, key in ((n, t.weights_id())
                              for n, t in model.teachers.items())
            if self.evaluated.get(name) != key
        }
        if not pending:
            return
        # released by a complete cache: back for this evaluation (the cache
        # hook frees them again before the next epoch)
        for name in pending:
            model.teachers[name].restore()
        results = self.evaluate(model, runner.val_dataloader, list(pending))
        classes = (getattr(runner.val_dataloader.dataset, 'metainfo', {})
                   or {}).get('classes')
        computed = {}
        for name, (scores, labels, mask) in results.items():
            computed[name] = compute_medical_metrics(
                scores, labels, multi_label=model.multi_label, mask=mask,
                class_names=(list(classes) if classes is not None
                             and len(classes) == scores.shape[1] else None))
        shown = [m for m in self.metrics if m in next(iter(
            computed.values()))]
        rows = [['teacher'] + shown]
        for name, values in computed.items():
            for key, value in values.items():
                runner.message_hub.update_scalar(f'val/teacher/{name}/{key}',
                                                 value)
            runner.visualizer.add_scalars(
                {f'teacher/{name}/{k}': v for k, v in values.items()},
                step=runner.iter)
            rows.append([name] + [f'{values[m]:.4f}' for m in shown])
            self.evaluated[name] = pending[name]
        runner.logger.info('Teachers on the validation set (frozen, '
                           'evaluated once):\n' + AsciiTable(rows).table)

    @staticmethod
    @torch.no_grad()
    def evaluate(model, dataloader, names):
        """``{name: (scores, labels, mask)}`` of the teachers ``names``."""
        scores = {name: [] for name in names}
        labels, masks = [], []
        for batch in dataloader:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            for name in names:
                logits = model.teachers[name](model.teacher_view(name,
                                                                 inputs))
                scores[name].append(model.to_probs(logits).float().cpu())
            num_classes = scores[names[0]][-1].shape[1]
            for sample in samples:
                if model.multi_label:
                    target = torch.zeros(num_classes, dtype=torch.long)
                    target[sample.gt_label.long()] = 1
                    labels.append(target.numpy())
                    mask = sample.get('gt_label_mask')
                    masks.append(
                        np.ones(num_classes) if mask is None else
                        mask.cpu().numpy())
                else:
                    labels.append(int(sample.gt_label.reshape(-1)[0]))
        labels = np.stack(labels) if model.multi_label else np.array(labels)
        mask = np.stack(masks) if model.multi_label else None
        return {
            name: (torch.cat(chunks).numpy(), labels, mask)
            for name, chunks in scores.items()
        }
