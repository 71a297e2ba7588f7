"""Fit temperature scaling on the val split; store it; apply it on load."""
from typing import List, Optional, Tuple

import torch
from mmengine.dist import broadcast_object_list, collect_results
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmpretrain.structures import label_to_onehot

from medkd.models.calibration import (UNCALIBRATED_FIELD, attach_calibration,
                                      build_calibration, detach_calibration)
from medkd.models.distillers import student_of
from medkd.models.head_kind import head_kind
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model

Row = Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]


def is_multi_label_model(model) -> bool:
    """Whether ``model`` (a classifier or a distiller) has sigmoid outputs."""
    return head_kind(student_of(model)) == 'multi_label'


def sample_rows(samples, multi_label: bool) -> List[Row]:
    """``(raw scores, target, mask)`` of each predicted data sample: its
    uncalibrated ``(C, )`` probabilities, its class index (``(1, )``) or
    ``(L, )`` 0/1 targets, and the multi-label mask (or None)."""
    rows = []
    for sample in samples:
        field = (UNCALIBRATED_FIELD
                 if UNCALIBRATED_FIELD in sample else 'pred_score')
        score = sample.get(field).detach().float().cpu()
        if not multi_label:
            target = sample.gt_label.reshape(-1)[:1].long().cpu()
        elif 'gt_score' in sample:
            target = sample.gt_score.detach().float().cpu()
        else:
            target = label_to_onehot(sample.gt_label.cpu(),
                                     len(score)).float()
        mask = sample.get('gt_label_mask')
        rows.append((score, target,
                     None if mask is None else mask.detach().cpu().bool()))
    return rows


def gather_rows(rows: List[Row], size: int) -> List[Row]:
    """Every rank's rows (the sampler's padding dropped) on every rank."""
    if get_world_size() == 1:
        return rows
    holder = [collect_results(rows, size)]
    broadcast_object_list(holder)
    return holder[0]


@torch.no_grad()
def predict_rows(model, dataloader) -> List[Row]:
    """:func:`sample_rows` of ``model``'s (unwrapped) predictions on this
    rank's share of ``dataloader``, in eval mode."""
    was_training = model.training
    model.eval()
    multi_label = is_multi_label_model(model)
    rows = []
    try:
        for batch in dataloader:
            rows += sample_rows(model.val_step(batch), multi_label)
    finally:
        model.train(was_training)
    return rows


def fit_calibration(options: dict, rows: List[Row], multi_label: bool):
    """A calibrator built from ``options`` and fitted on ``rows``."""
    scores = torch.stack([r[0] for r in rows])
    targets = torch.cat([r[1] for r in rows]) if not multi_label else \
        torch.stack([r[1] for r in rows])
    mask = None
    if multi_label and rows[0][2] is not None:
        mask = torch.stack([r[2] for r in rows])
    return build_calibration(options).fit(scores, targets, multi_label, mask)


@HOOKS.register_module()
class CalibrationHook(Hook):
    """Temperature scaling as part of a run (config key ``calibration``).

    With ``calibration = dict(type='TemperatureScaling')`` (``fit=
    'training'``, the default) ``T`` is fitted on the val split
    (:class:`~medkd.models.calibration.TemperatureScaling`) for the weights
    each checkpoint that matters holds:

    - the final epoch's checkpoint: one extra pass over the val split after
      the last training epoch, before the checkpoint is written;
    - a best checkpoint (``save_best``): from the predictions of the
      validation that chose it (no extra pass).

    Each is written to that checkpoint's ``meta['calibration']`` (with the
    val NLL before and after) and applied to the model from then on; other
    checkpoints carry none (``tools/test.py --calibrate`` fits one).
    ``fit='evaluation'`` fits ``T`` at the start of an evaluation outside
    training (``tools/test.py --calibrate``), ``fit='missing'`` there only
    when the loaded checkpoint has none.

    Whatever the config says, a checkpoint with ``meta['calibration']`` is
    applied when it is loaded (``load_from``, ``tools/test.py``,
    ``--resume``): :class:`~medkd.engine.MedKDRunner` always registers this
    hook.

    Args:
        calibration (dict, optional): The checked ``calibration`` config
            (:func:`~medkd.models.calibration.calibration_options`).
            Defaults to None: stored calibrations are applied, none fitted.
    """

    # before CheckpointHook (VERY_LOW): the fit precedes the save
    priority = 'LOW'

    def __init__(self, calibration: Optional[dict] = None) -> None:
        self.options = calibration
        self.current = None  # fitted for (or loaded with) the live weights
        self.fitted_best = None  # fitted at the latest validation
        self.evaluation_fitted = False
        self.loaded = None
        self.training = False
        self.rows: List[Row] = []

    def _fits_in_training(self) -> bool:
        return bool(self.options) and self.options['fit'] == 'training'

    # a stored calibration ---------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        stored = (checkpoint.get('meta') or {}).get('calibration')
        model = unwrap_model(runner.model)
        detach_calibration(model)
        self.loaded = stored
        self.current = None
        if stored:
            self.current = build_calibration(stored)
            attach_calibration(model, self.current)
            runner.logger.info(
                f'Calibration from the checkpoint: {self.current} (fitted on '
                f'{stored.get("fitted_on", "val")}): predictions are '
                f'calibrated, the raw scores kept as `{UNCALIBRATED_FIELD}`')

    # fitting during training --------------------------------------------
    def before_train(self, runner) -> None:
        self.training = True

    def after_train(self, runner) -> None:
        self.training = False

    def after_train_epoch(self, runner) -> None:
        if self._fits_in_training() and runner.epoch + 1 == runner.max_epochs:
            model = unwrap_model(runner.model)
            dataloader = runner.val_loop.dataloader
            rows = gather_rows(predict_rows(model, dataloader),
                               len(dataloader.dataset))
            self._fit(runner, rows, 'after the last epoch')

    def before_val_epoch(self, runner) -> None:
        self.rows = []

    def _fits_best(self, runner) -> bool:
        return self.training and self._fits_in_training() and any(
            getattr(h, 'save_best', None) for h in runner.hooks)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        if self._fits_best(runner) and outputs:
            self.rows += sample_rows(outputs, is_multi_label_model(
                unwrap_model(runner.model)))

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not (self._fits_best(runner) and self.rows):
            return
        rows = gather_rows(self.rows, len(runner.val_loop.dataloader.dataset))
        self.rows = []
        if runner.epoch == runner.max_epochs and self.current is not None:
            return  # the final weights were fitted after the last epoch
        self._fit(runner, rows, f'at epoch {runner.epoch}', attach=False)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.setdefault('meta', {})
        meta.pop('calibration', None)
        if not (self._fits_in_training() and self.training):
            return
        final = meta.get('epoch') == runner.max_epochs
        best = any(getattr(h, 'saving_best', False) for h in runner.hooks)
        fitted = self.fitted_best if best and not final else self.current
        if (final or best) and fitted is not None:
            meta['calibration'] = fitted.to_meta()

    # fitting at evaluation ------------------------------------------------
    def before_val(self, runner) -> None:
        self._fit_for_evaluation(runner)

    def before_test(self, runner) -> None:
        self._fit_for_evaluation(runner)

    def _fit_for_evaluation(self, runner) -> None:
        if self.training or not self.options:
            return
        mode = self.options['fit']
        if mode == 'training' or (mode == 'missing' and self.loaded) or \
                self.evaluation_fitted:
            return
        model = unwrap_model(runner.model)
        dataloader = runner.val_loop.dataloader
        rows = gather_rows(predict_rows(model, dataloader),
                           len(dataloader.dataset))
        self._fit(runner, rows, 'for this evaluation')
        self.evaluation_fitted = True

    def _fit(self, runner, rows: List[Row], when: str, attach: bool = True):
        model = unwrap_model(runner.model)
        calibration = fit_calibration(self.options, rows,
                                      is_multi_label_model(model))
        stats = calibration.fit_stats
        runner.logger.info(
            f'Calibration fitted on the val split {when} '
            f'({stats["num_samples"]} samples): {calibration}, val NLL '
            f'{stats["nll_before"]:.4f} -> {stats["nll_after"]:.4f}')
        if attach:
            self.current = calibration
            attach_calibration(model, calibration)
        else:
            self.fitted_best = calibration
        return calibration
