"""Evaluation options shared by ``tools/test.py`` and the seed / demo tools:
confidence intervals on test and a decision threshold chosen on val."""
import copy
from typing import Dict, List

from mmengine.config import Config

from medkd.models.distillers import is_distiller
from medkd.registry import MODELS
from .inference import without_teacher_files
from .train import build_runner

__all__ = [
    'add_results_dump', 'medical_metrics_of', 'set_metric_options',
    'skip_teacher_loading', 'youden_from_val', 'save_calibrated'
]


def _as_list(evaluator) -> List[dict]:
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]


def add_results_dump(cfg: Config, path: str) -> Config:
    """Dump every test sample's prediction to ``path`` (mmengine's
    ``DumpResults`` beside the config's test metrics), as ``tools/test.py
    --out`` does. Changes ``cfg`` in place and returns it."""
    cfg.test_evaluator = _as_list(copy.deepcopy(cfg.test_evaluator)) + [
        dict(type='DumpResults', out_file_path=path)
    ]
    return cfg


def skip_teacher_loading(cfg: Config) -> List[str]:
    """Test a distiller checkpoint without its teachers' files.

    A distiller's predictions are its student's, so unless the distiller
    declares that its predictions run the teachers
    (:meth:`~medkd.models.distillers.BaseDistiller.
    teachers_needed_to_predict`: ``model.eval_teachers``, or a gate that
    weighs the teachers by their outputs, ``CAMKDGate``,
    ``ConfidenceGate``, whose weights are dumped), their checkpoint files
    (and a checkpoint sequence's route) are not loaded: each teacher keeps
    its initial weights and takes no part, and the distiller checkpoint
    alone is needed. Changes ``cfg`` in place.

    Returns:
        list[str]: The teachers not loaded (empty for a classifier config or
        when the predictions need the teachers).
    """
    model = cfg.get('model') or {}
    if not is_distiller(model) or MODELS.get(
            model['type']).teachers_needed_to_predict(model):
        return []
    return without_teacher_files(model)


def medical_metrics_of(evaluator) -> List[dict]:
    """The ``MedicalMetric`` entries of an evaluator config (a dict, a list
    of dicts or ``dict(type='Evaluator', metrics=...)``)."""
    entries = []
    for entry in _as_list(evaluator):
        if entry.get('type') == 'Evaluator':
            entries += medical_metrics_of(entry.get('metrics', []))
        elif entry.get('type') == 'MedicalMetric':
            entries.append(entry)
    return entries


def set_metric_options(cfg: Config, evaluator_key: str,
                       option: str, **options) -> Config:
    """Set ``options`` on every ``MedicalMetric`` of ``cfg[evaluator_key]``.

    Args:
        cfg (Config): A full config; changed in place and returned.
        evaluator_key (str): ``'val_evaluator'`` or ``'test_evaluator'``.
        option (str): The command-line option asking for it, for the error.
        **options: Arguments of ``MedicalMetric`` (``ci=True``, ...).

    Returns:
        Config: ``cfg``.
    """
    # configs often write ``test_evaluator = val_evaluator``: one object
    cfg[evaluator_key] = copy.deepcopy(cfg[evaluator_key])
    entries = medical_metrics_of(cfg[evaluator_key])
    if not entries:
        raise ValueError(
            f'{option} needs a MedicalMetric in `{evaluator_key}`, but the '
            f'config has {cfg[evaluator_key]}.')
    for entry in entries:
        entry.update(options)
    return cfg


def youden_from_val(cfg: Config, checkpoint: str) -> Dict[str, float]:
    """Evaluate ``checkpoint`` on ``cfg``'s val split and return the Youden
    threshold of each ``MedicalMetric`` there, ``{prefix: threshold}``.

    The threshold is chosen on val only; apply it to test with
    ``MedicalMetric(decision_threshold=...)``.
    """
    val_cfg = copy.deepcopy(cfg)
    set_metric_options(val_cfg, 'val_evaluator', '--youden-threshold',
                       youden=True, ci=False)
    val_cfg.load_from = checkpoint
    val_cfg.experiment_name = f'{cfg.get("experiment_name") or "val"}_youden'
    metrics = build_runner(val_cfg).val()
    thresholds = {}
    for entry in medical_metrics_of(val_cfg.val_evaluator):
        prefix = entry.get('prefix') or 'medical'
        thresholds[prefix] = float(metrics[f'{prefix}/youden_threshold'])
    return thresholds


def save_calibrated(runner, checkpoint: str, out: str) -> str:
    """Write ``checkpoint`` to ``out`` with the calibration ``runner``
    fitted (``tools/test.py --calibrate --save-calibrated``) in its
    ``meta['calibration']``; everything else is unchanged. Returns ``out``."""
    import torch
    from mmengine.dist import is_main_process

    from medkd.models.calibration import model_calibration
    from medkd.utils.checkpoint import safe_load, unwrap_model
    from medkd.utils.fileio import atomic_write
    calibration = model_calibration(unwrap_model(runner.model))
    if calibration is None:
        raise RuntimeError('--save-calibrated: the run fitted no '
                           'calibration (is there a val split?)')
    if is_main_process():
        state = safe_load(checkpoint)
        state.setdefault('meta', {})['calibration'] = calibration.to_meta()
        atomic_write(out, lambda f: torch.save(state, f))
        runner.logger.info(f'Checkpoint with {calibration}: {out}')
    return out
