from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from medkd.models.classifiers import features_and_logits
from medkd.models.gates.declarations import gate_uses_teacher_outputs
from medkd.models.losses import SoftLabelLoss, check_loss_weights
from medkd.registry import MODELS
from .base import BaseDistiller
from .feature_pairs import FeaturePairsMixin


def soft_nll(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``mean_i -log p_i[y_i]`` for ``(N,)`` class indices, or the
    cross-entropy ``mean_i -Σ_c y_ic log p_ic`` with ``(N, C)`` mixed
    targets (Mixup / CutMix)."""
    log_p = probs.clamp_min(1e-12).log()
    if targets.dim() == 1:
        return F.nll_loss(log_p, targets.long())
    return -(targets.to(log_p) * log_p).sum(1).mean()


def has_weighted_form(loss) -> bool:
    """Whether a soft-label loss implements
    :meth:`~medkd.models.losses.SoftLabelLoss.weighted` (directly or through
    its per-sample losses)."""
    kind = type(loss)
    return isinstance(loss, SoftLabelLoss) and (
        kind.weighted is not SoftLabelLoss.weighted
        or kind.sample_losses is not SoftLabelLoss.sample_losses)


@MODELS.register_module()
class GatedMultiTeacher(FeaturePairsMixin, BaseDistiller):
    """Distillation from K frozen teachers mixed by a learned per-sample gate.

    For sample ``x`` with gate weights ``w(x)`` (``(N, K)``, rows sum to 1):

    .. math::
        p_T = \\sum_k w_k(x) \\cdot \\mathrm{softmax}(z_k / T)

        L = w_{kd} \\cdot T^2 \\cdot \\mathrm{KL}(p_T \\,\\|\\,
            \\mathrm{softmax}(z_s / T)) + w_{cls} \\cdot
            \\mathrm{CE}(z_s, y)

    ``teacher_mixing='probs'`` (the paper's form, the default) mixes the
    teachers' probabilities, not their logits: each teacher's logits are first
    turned into the ``kd_loss``'s own target distribution
    (:meth:`~medkd.models.losses.SoftLabelLoss.soften`: ``softmax(z_k / T)``
    for ``KDLoss``, ``DKDLoss`` and ``DISTLoss``; the standardised
    ``softmax(Z(z_k) / T)`` for ``LogitStdKDLoss``, i.e. every teacher is
    standardised before mixing; ``σ(z_k / T)`` for ``SoftBCELoss``), then
    the mixture is given to the loss with ``teacher_is_prob=True`` and the
    labels. ``teacher_mixing='losses'`` keeps one loss per teacher and mixes
    the losses instead (the form of CA-MKD's official code):

    .. math::
        L_{kd} = \\frac{1}{s} \\sum_k \\mathrm{loss}_w(z_s, z_k;
            w_{:,k})

    with :meth:`~medkd.models.losses.SoftLabelLoss.weighted`, the batch loss
    in which sample ``i`` counts ``w_k(x_i)`` (per-sample losses:
    ``(1/N) Σ_i w_ik ℓ_ik``; DIST: its intra-class correlation weighted per
    sample), and ``s = 1`` or, with ``teacher_loss_norm='num_teachers'``,
    ``s = K`` (CA-MKD's official ``1 / (N · K)``). With a relation loss such
    as DIST the difference matters: the mixture of two sharp, different
    class rankings is a blurred ranking, while per-teacher losses ask the
    student to follow each teacher's ranking where its weight is high. The
    gate's weights are not detached, so the gate
    learns through the distillation term only (teacher outputs are
    detached). The gate and the student share the optimizer.

    Logged besides the losses: ``gate_w_<teacher>``, the batch-mean weight of
    each teacher, and ``gate_entropy``, the batch mean of each sample's gate
    entropy ``-Σ_k w_k log w_k`` (nats; ``log K`` for uniform weights, 0 for
    a gate that picks one teacher: a collapsed gate). Predictions carry ``gate_weights`` (``(K,)`` per sample,
    in the order of ``teachers``).

    Args:
        student (dict): Student classifier config.
        teachers (dict): K ≥ 2 teachers, see :class:`BaseDistiller`
            (``resize_input`` per teacher gives it an upsampled view).
        gate (dict): Gate config; ``num_teachers`` and ``head_kind`` are
            filled in. Gates are called ``gate(images, teacher_probs,
            labels)`` (see :mod:`medkd.models.gates.baseline_gates`):
            ``ImageGate`` / ``ConfidenceGate`` learn the weights,
            ``MeanGate`` (1/K) and ``CAMKDGate`` (CA-MKD's confidence
            weights from each teacher's cross-entropy with the label) are
            the parameter-free baselines. Defaults to
            ``dict(type='ImageGate')``.
        cls_weight (float): ``w_cls``. Defaults to 0.1 (the paper's
            ``1 - alpha``).
        kd_weight (float): ``w_kd``. Defaults to 0.9 (the paper's
            ``alpha``).
        kd_loss (dict, optional): Soft loss between the student and ``p_T``
            (any soft-label loss; its temperature, the only one, softens the
            teachers). Defaults to ``KDLoss`` for softmax heads and
            ``SoftBCELoss`` for sigmoid heads, at
            ``default_temperature`` (4, the paper's).
        teacher_mixing (str): ``'probs'`` (the loss of the mixture) or
            ``'losses'`` (the mixture of per-teacher losses). Defaults to
            ``'probs'``.
        teacher_loss_norm (str): With ``teacher_mixing='losses'``: ``'sum'``
            (``s = 1``: one teacher's loss scale, as ``'probs'``) or
            ``'num_teachers'`` (``s = K``, CA-MKD's official code).
            Defaults to ``'sum'``.
        gate_entropy_weight (float): Weight of a bonus for high gate entropy
            (against collapse onto one teacher). Defaults to 0 (off).
        gate_ce_weight (float): Weight of the cross-entropy of the mixed
            teacher (at T=1) with the labels, trained into the gate.
            Defaults to 0 (off).
        gate_kd_grad (bool): Train the gate through the distillation term
            (the paper's choice). A gate trained only that way learns to
            pick the teacher the student already agrees with and collapses
            onto one teacher; with False the gate weights are detached in
            ``p_T`` of the KD term, so the gate learns only from
            ``gate_ce_weight`` (which teacher is right for this sample) and
            ``gate_entropy_weight``. Defaults to True.
        feature_pairs (Sequence[dict]): Feature terms (FitNets, attention
            transfer, ...) between the student and named teachers, see
            :class:`~medkd.models.distillers.feature_pairs.FeaturePairsMixin`
            (teachers then run live). Defaults to ().
        probe_shape (Sequence[int]): ``(C, H, W)`` of the batch that finds
            the connectors' channels. Defaults to (3, 32, 32).
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    default_temperature = 4.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 gate: Optional[dict] = None,
                 cls_weight: float = 0.1,
                 kd_weight: float = 0.9,
                 kd_loss: Optional[dict] = None,
                 teacher_mixing: str = 'probs',
                 teacher_loss_norm: str = 'sum',
                 gate_entropy_weight: float = 0.0,
                 gate_ce_weight: float = 0.0,
                 gate_kd_grad: bool = True,
                 feature_pairs: Sequence[dict] = (),
                 probe_shape: Sequence[int] = (3, 32, 32),
                 **kwargs):
        super().__init__(student, teachers, **kwargs)
        if len(self.teachers) < 2:
            raise ValueError('GatedMultiTeacher needs at least 2 teachers in '
                             f'`teachers`, got {list(self.teachers)}')
        gate = dict(gate or dict(type='ImageGate'))
        if 'input_size' in gate:
            raise KeyError(
                'model.gate.input_size is now model.gate.resize_input (the '
                "key teachers use for the same resize); found "
                f"input_size={gate['input_size']!r}.")
        self.predict_options['gate'] = dict(gate)
        gate['num_teachers'] = len(self.teachers)
        kind = self.head_kind
        if gate.setdefault('head_kind', kind) != kind:
            raise ValueError(
                f"model.gate.head_kind is {gate['head_kind']!r} but the "
                f"student's head is {kind!r}; leave it unset.")
        self.gate = MODELS.build(gate)
        if gate_ce_weight and kind != 'softmax':
            raise ValueError(
                'model.gate_ce_weight trains the gate with the cross-entropy '
                'of the mixed teachers, which needs a softmax head; the '
                f"student's head is {kind!r}. Set model.gate_ce_weight=0.")
        self.cls_weight, self.kd_weight = check_loss_weights(
            cls_weight=cls_weight, kd_weight=kd_weight)
        self.kd_loss = self.build_kd_loss(kd_loss)
        if teacher_mixing not in ('probs', 'losses'):
            raise ValueError(
                "model.teacher_mixing must be 'probs' (the loss of the "
                "teachers' mixture) or 'losses' (the mixture of per-teacher "
                f'losses), got {teacher_mixing!r}')
        if teacher_loss_norm not in ('sum', 'num_teachers'):
            raise ValueError(
                "model.teacher_loss_norm must be 'sum' or 'num_teachers', "
                f'got {teacher_loss_norm!r}')
        if teacher_loss_norm != 'sum' and teacher_mixing != 'losses':
            raise ValueError(
                f'model.teacher_loss_norm={teacher_loss_norm!r} scales the '
                "per-teacher losses of teacher_mixing='losses', but "
                f'model.teacher_mixing is {teacher_mixing!r}. Remove '
                "teacher_loss_norm or set teacher_mixing='losses'.")
        if teacher_mixing == 'losses' and not has_weighted_form(self.kd_loss):
            raise ValueError(
                "model.teacher_mixing='losses' weighs each sample of each "
                "teacher's loss, but model.kd_loss "
                f'({type(self.kd_loss).__name__}) has no per-sample or '
                "weighted form. Use teacher_mixing='probs' or a loss with "
                'one (KDLoss, LogitStdKDLoss, DKDLoss, DISTLoss, SoftBCELoss, '
                'MultiLabelDISTLoss).')
        self.teacher_mixing = teacher_mixing
        self.teacher_loss_norm = teacher_loss_norm
        self.gate_entropy_weight = gate_entropy_weight
        self.gate_ce_weight = gate_ce_weight
        trainable_gate = any(p.requires_grad for p in self.gate.parameters())
        if trainable_gate and not gate_kd_grad and not (
                gate_ce_weight or gate_entropy_weight):
            raise ValueError(
                'model.gate_kd_grad=False stops the distillation gradient '
                'into the gate; with gate_ce_weight=0 and '
                'gate_entropy_weight=0 nothing would train the gate. Set '
                'model.gate_ce_weight > 0 (or gate_kd_grad=True).')
        self.gate_kd_grad = gate_kd_grad
        self.build_feature_pairs(feature_pairs, probe_shape)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        feature_losses = {}
        if self.feature_pairs:
            logits, teacher_feats = self.teacher_features(inputs)
            teacher_logits, weights = self.gate_teachers(
                inputs, data_samples, logits)
            student_feats, student_logits = features_and_logits(
                self.student, inputs)
            feature_losses = self.feature_pair_losses(student_feats,
                                                      teacher_feats)
        else:
            teacher_logits, weights = self.gate_teachers(inputs, data_samples)
            student_logits = self.student(inputs, mode='tensor')
        losses = dict(
            **feature_losses,
            loss_cls=self.cls_weight *
            self.student_cls_loss(student_logits, data_samples),
            loss_kd=self.kd_weight * self.teacher_loss(
                student_logits, teacher_logits,
                weights if self.gate_kd_grad else weights.detach(),
                self.hard_labels(data_samples)))
        entropy = -(weights * weights.clamp_min(1e-12).log()).sum(1)
        if self.gate_entropy_weight:
            losses['loss_gate_entropy'] = \
                -self.gate_entropy_weight * entropy.mean()
        losses['gate_entropy'] = entropy.mean().detach()
        if self.gate_ce_weight:
            p_teacher = self.mix(teacher_logits, weights, self.to_probs)
            losses['loss_gate_ce'] = self.gate_ce_weight * soft_nll(
                p_teacher, self.label_targets(data_samples))
        for name, mean_weight in zip(self.teachers, weights.mean(0)):
            losses[f'gate_w_{name}'] = mean_weight.detach()
        return losses

    def teacher_loss(self, student_logits: torch.Tensor,
                     teacher_logits: torch.Tensor, weights: torch.Tensor,
                     labels: torch.Tensor) -> torch.Tensor:
        """The distillation term (before ``kd_weight``) for ``(N, K, C)``
        teacher logits and ``(N, K)`` gate weights, in the form
        ``teacher_mixing`` selects."""
        if self.teacher_mixing == 'probs':
            mixed = self.mix(teacher_logits, weights, self.kd_loss.soften)
            return self.kd_loss(student_logits, mixed, labels=labels,
                                teacher_is_prob=True)
        total = sum(
            self.kd_loss.weighted(student_logits, teacher_logits[:, k],
                                  weights[:, k], labels=labels)
            for k in range(teacher_logits.size(1)))
        if self.teacher_loss_norm == 'num_teachers':
            total = total / teacher_logits.size(1)
        return total

    @classmethod
    def teachers_needed_to_predict(cls, options: dict) -> bool:
        """Also when the gate weighs the teachers by their outputs (its
        declaration, :func:`~medkd.models.gates.declarations.
        gate_uses_teacher_outputs`): its dumped weights need them."""
        gate = options.get('gate') or dict(type='ImageGate')
        kind = gate.get('type', 'ImageGate')
        gate_cls = MODELS.get(kind) if isinstance(kind, str) else kind
        return super().teachers_needed_to_predict(options) or \
            gate_uses_teacher_outputs(gate_cls)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        predictions = self.student.predict(inputs, data_samples)
        if not self.predict_needs_teachers():
            # the gate reads the image only: the teachers need not run
            labels = self.hard_labels(data_samples) if data_samples else None
            weights = self.gate(inputs, None, None if labels is None else
                                labels.to(inputs.device))
            for sample, w in zip(predictions, weights):
                sample.set_field(w, 'gate_weights')
            return predictions
        teacher_logits, weights = self.gate_teachers(inputs, data_samples)
        if self.eval_teachers:  # the teachers ran once, for the gate too
            self.attach_teacher_scores(
                predictions, dict(zip(self.teachers,
                                      teacher_logits.unbind(1))))
        for sample, w in zip(predictions, weights):
            sample.set_field(w, 'gate_weights')
        return predictions

    def gate_teachers(self, inputs: torch.Tensor, data_samples=None,
                      teacher_logits: Optional[dict] = None):
        """Teacher logits ``(N, K, C)`` and gate weights ``(N, K)``
        (``teacher_logits``: ``{name: (N, C)}`` already computed)."""
        if teacher_logits is None:
            teacher_logits = self.teacher_logits(inputs, data_samples)
        teacher_logits = torch.stack(list(teacher_logits.values()), dim=1)
        labels = self.label_targets(data_samples) if data_samples else None
        if labels is not None:
            labels = labels.to(inputs.device)
        weights = self.gate(inputs, self.teacher_probs(teacher_logits),
                            labels)
        return teacher_logits, weights

    def teacher_probs(self, teacher_logits: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
        """Per-teacher probabilities ``(N, K, C)`` at ``temperature``."""
        return self.to_probs(teacher_logits.flatten(0, 1),
                             temperature).view_as(teacher_logits)

    @staticmethod
    def mix(teacher_logits: torch.Tensor, weights: torch.Tensor,
            soften: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``Σ_k w_k · soften(z_k)``: ``(N, K, C)`` logits, ``(N, K)``
        weights → ``(N, C)`` mixed probabilities; ``soften`` maps ``(M, C)``
        logits to probabilities."""
        probs = soften(teacher_logits.flatten(0, 1)).view_as(teacher_logits)
        return (weights.unsqueeze(-1) * probs).sum(1)
