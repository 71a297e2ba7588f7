"""Temperature scaling (Guo et al., ICML 2017): calibrated probabilities.

A model's scores are calibrated when, among the samples it scores with
confidence ``p``, a fraction ``p`` is right. Temperature scaling divides the
model's log-scores by one scalar ``T > 0`` fitted on the val split by
minimising the NLL: ``softmax(log p / T)`` (= ``softmax(z / T)`` for a
softmax head, since ``log p = z - logsumexp(z)``), or ``σ(logit(p) / T)`` for
sigmoid heads (one ``T`` per label with ``per_label``). Dividing by a positive
scalar keeps the arg-max and the order of every column's scores, so accuracy,
sensitivity / specificity at the arg-max (or at 0.5 for sigmoid heads) and
AUC are unchanged by construction; ECE, Brier and NLL change.

The temperature lives in the checkpoint's ``meta['calibration']`` (written by
:class:`~medkd.engine.hooks.CalibrationHook`) and is applied to the model
outputs by :func:`attach_calibration`: ``predict`` returns calibrated
``pred_score`` (and keeps the raw ones as ``pred_score_uncalibrated``), and
``forward(mode='tensor')`` returns the calibrated logits ``log p / T`` (what
ONNX export, Grad-CAM and ``inference`` read).
"""
import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.evaluation.metrics.calibration import UNCALIBRATED_FIELD
from medkd.registry import MODELS

__all__ = [
    'TemperatureScaling', 'build_calibration', 'attach_calibration',
    'detach_calibration', 'model_calibration', 'UNCALIBRATED_FIELD'
]


#: Keys of the ``calibration`` config dict, besides ``type``.
FIT_MODES = ('training', 'evaluation', 'missing')

# float32 scores: 0 and 1 are where softmax / sigmoid saturate
_TINY = float(torch.finfo(torch.float32).tiny)
_EPS = 2.0**-24


def log_scores(scores: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """The log-scores temperature scaling divides: ``log p`` (softmax; equal
    to the logits up to a per-sample constant, which softmax ignores) or
    ``logit(p)`` (sigmoid: the logits), in float64."""
    scores = scores.double()
    if multi_label:
        scores = scores.clamp(_EPS, 1 - _EPS)
        return torch.log(scores) - torch.log1p(-scores)
    return torch.log(scores.clamp_min(_TINY))


def scale_scores(scores: torch.Tensor, temperature: torch.Tensor,
                 multi_label: bool) -> torch.Tensor:
    """``softmax(log p / T)`` or ``σ(logit(p) / T)`` in ``scores``' dtype."""
    z = log_scores(scores, multi_label) / temperature.to(torch.float64)
    out = torch.sigmoid(z) if multi_label else F.softmax(z, dim=-1)
    return out.to(scores.dtype)


def nll(log_p: torch.Tensor,
        targets: torch.Tensor,
        temperature: torch.Tensor,
        multi_label: bool,
        mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean negative log-likelihood of ``log_p / T``: cross-entropy over
    classes, or the binary cross-entropy of the unmasked labels."""
    z = log_p / temperature
    if not multi_label:
        return F.cross_entropy(z, targets.long())
    losses = F.binary_cross_entropy_with_logits(
        z, targets.to(z.dtype), reduction='none')
    if mask is not None:
        return losses[mask.bool()].mean()
    return losses.mean()


@MODELS.register_module()
class TemperatureScaling:
    """One temperature ``T > 0`` dividing a model's log-scores.

    Args:
        per_label (bool): Sigmoid (multi-label) heads only: one temperature
            per label instead of one scalar. Defaults to False.
        temperature (float | list, optional): A temperature already fitted
            (as stored in ``meta['calibration']``). Defaults to None (1,
            i.e. unfitted).
        max_iter (int): L-BFGS iterations of the fit. Defaults to 200.
    """

    def __init__(self,
                 per_label: bool = False,
                 temperature: Optional[Union[float, List[float]]] = None,
                 max_iter: int = 200) -> None:
        if not isinstance(per_label, bool):
            raise TypeError('calibration.per_label must be True or False, '
                            f'got {per_label!r}')
        self.per_label = per_label
        self.max_iter = max_iter
        self.temperature = None if temperature is None else torch.tensor(
            temperature, dtype=torch.float64)
        self.fit_stats: Dict[str, float] = {}

    @property
    def fitted(self) -> bool:
        return self.temperature is not None

    def fit(self,
            scores: torch.Tensor,
            targets: torch.Tensor,
            multi_label: bool,
            mask: Optional[torch.Tensor] = None) -> 'TemperatureScaling':
        """Fit ``T`` minimising the NLL of ``scores`` (the model's
        uncalibrated probabilities) on ``targets``.

        Args:
            scores (torch.Tensor): ``(N, C)`` probabilities (softmax rows or
                sigmoid scores).
            targets (torch.Tensor): ``(N, )`` class indices, or ``(N, L)``
                0/1 targets for multi-label.
            multi_label (bool): Sigmoid scores.
            mask (torch.Tensor, optional): ``(N, L)``: 0 for an entry left
                out of the NLL (an uncertain CheXpert label).

        Returns:
            TemperatureScaling: self, with ``temperature`` and ``fit_stats``
            (``nll_before``, ``nll_after``, ``num_samples``).
        """
        if self.per_label and not multi_label:
            raise ValueError(
                'calibration.per_label=True needs a sigmoid (multi-label) '
                'head: a softmax head has one temperature for all classes.')
        log_p = log_scores(scores, multi_label)
        shape = (log_p.shape[1], ) if self.per_label else ()
        log_t = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([log_t],
                                      lr=1.0,
                                      max_iter=self.max_iter,
                                      tolerance_grad=1e-12,
                                      tolerance_change=1e-14,
                                      line_search_fn='strong_wolfe')

        def closure():
            optimizer.zero_grad()
            loss = nll(log_p, targets, log_t.exp(), multi_label, mask)
            loss.backward()
            return loss

        with torch.enable_grad():
            before = float(closure().detach())
            optimizer.step(closure)
        self.temperature = log_t.detach().exp()
        with torch.no_grad():
            after = float(
                nll(log_p, targets, self.temperature, multi_label, mask))
        self.fit_stats = dict(nll_before=before, nll_after=after,
                              num_samples=int(len(scores)))
        return self

    def __call__(self, scores: torch.Tensor,
                 multi_label: bool) -> torch.Tensor:
        """Calibrated probabilities of ``(N, C)`` ``scores``."""
        return scale_scores(scores, self._check_fitted(), multi_label)

    def scale_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits / T`` (softmax: the same probabilities as
        :meth:`__call__`)."""
        return logits / self._check_fitted().to(logits)

    def _check_fitted(self) -> torch.Tensor:
        if self.temperature is None:
            raise RuntimeError('TemperatureScaling is not fitted: call '
                               '`fit` on the val split first')
        return self.temperature

    def to_meta(self) -> dict:
        """What ``meta['calibration']`` stores (plain types, loadable with
        ``weights_only=True``)."""
        value = self._check_fitted()
        meta = dict(type='TemperatureScaling',
                    per_label=self.per_label,
                    temperature=(value.tolist() if value.dim() else
                                 float(value)),
                    fitted_on='val')
        meta.update(self.fit_stats)
        return meta

    def __repr__(self) -> str:
        if self.temperature is None:
            return 'TemperatureScaling(unfitted)'
        value = self.temperature
        text = (f'{float(value):.4f}' if value.dim() == 0 else
                '[' + ', '.join(f'{v:.3f}' for v in value.tolist()) + ']')
        return f'TemperatureScaling(T={text})'


def calibration_options(cfg: Optional[dict], source: str) -> Optional[dict]:
    """The config's ``calibration`` dict checked: ``type`` (a registered
    calibrator), ``fit`` (:data:`FIT_MODES`) and the calibrator's own
    arguments; anything else is refused naming the key and ``source``."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise TypeError(f'`calibration` in {source} must be a dict such as '
                        "dict(type='TemperatureScaling'), got {cfg!r}")
    cfg = dict(cfg)
    cfg.pop('_scope_', None)  # set by mmengine on inherited `medkd::` bases
    kind = cfg.get('type')
    if kind != 'TemperatureScaling':
        raise ValueError(f'`calibration.type` in {source} must be '
                         f"'TemperatureScaling', got {kind!r}")
    fit = cfg.setdefault('fit', 'training')
    if fit not in FIT_MODES:
        raise ValueError(f'`calibration.fit` in {source} must be one of '
                         f'{FIT_MODES}, got {fit!r}')
    allowed = {'type', 'fit', 'per_label', 'max_iter'}
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise KeyError(f'`calibration` in {source} has unknown keys '
                       f'{unknown}; allowed: {sorted(allowed)}')
    return cfg


def build_calibration(cfg: dict) -> TemperatureScaling:
    """A calibrator from a ``calibration`` config (its ``fit`` key is the
    hook's) or a checkpoint's ``meta['calibration']``."""
    cfg = copy.deepcopy(dict(cfg))
    for key in ('fit', 'fitted_on', 'nll_before', 'nll_after',
                'num_samples'):
        cfg.pop(key, None)
    return MODELS.build(cfg)


def _is_2d_logits(output) -> bool:
    return isinstance(output, torch.Tensor) and output.dim() == 2


class _CalibratedOutputs:
    """The forward hook :func:`attach_calibration` registers."""

    def __init__(self, calibration: TemperatureScaling, multi_label: bool):
        self.calibration = calibration
        self.multi_label = multi_label

    def __call__(self, module: nn.Module, args, kwargs, output):
        mode = kwargs.get('mode', args[2] if len(args) > 2 else 'tensor')
        if mode == 'tensor' and _is_2d_logits(output):
            return self.calibration.scale_logits(output)
        if mode == 'predict' and isinstance(output, list):
            for sample in output:
                if 'pred_score' not in sample:
                    continue
                raw = sample.pred_score
                sample.set_field(raw, UNCALIBRATED_FIELD)
                sample.set_field(
                    self.calibration(raw[None], self.multi_label)[0],
                    'pred_score')
        return output


def attach_calibration(model: nn.Module,
                       calibration: TemperatureScaling) -> None:
    """Make ``model``'s outputs calibrated (replacing any calibration it
    had): ``predict`` data samples get calibrated ``pred_score`` and keep
    the raw ones as ``pred_score_uncalibrated``; ``forward(mode='tensor')``
    2-D logits are divided by ``T``. The labels a model predicts do not
    change. ``model`` is the unwrapped model a runner or tool holds; the
    hook is on its top-level forward, so a distiller's internal student
    calls (training) are not scaled."""
    from medkd.models.distillers import student_of
    from medkd.models.head_kind import head_kind
    detach_calibration(model)
    multi_label = head_kind(student_of(model)) == 'multi_label'
    handle = model.register_forward_hook(
        _CalibratedOutputs(calibration, multi_label), with_kwargs=True)
    model._medkd_calibration = (calibration, handle)


def detach_calibration(model: nn.Module) -> Optional[TemperatureScaling]:
    """Remove :func:`attach_calibration`'s hook; returns the calibration it
    applied (or None)."""
    attached = getattr(model, '_medkd_calibration', None)
    if attached is None:
        return None
    calibration, handle = attached
    handle.remove()
    del model._medkd_calibration
    return calibration


def model_calibration(model: nn.Module) -> Optional[TemperatureScaling]:
    """The calibration attached to ``model``, or None."""
    attached = getattr(model, '_medkd_calibration', None)
    return None if attached is None else attached[0]

