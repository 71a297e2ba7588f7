from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample, label_to_onehot

from medkd.registry import MODELS
from .base import (BaseDistiller, build_kd_loss, check_loss_weights,
                   head_kind)


def features_and_logits(classifier: nn.Module, inputs: torch.Tensor
                        ) -> Tuple[Tuple[torch.Tensor, ...], torch.Tensor]:
    """Run a classifier's backbone once; return its outputs and the logits.

    The logits are ``head(neck((outputs[-1], )))``, so the last of the
    backbone's ``out_indices`` must be the stage the head reads (checked by
    :class:`TeacherAssistant` when it is built).

    Args:
        classifier (nn.Module): An mmpretrain ``ImageClassifier``-like model
            with ``backbone``, optional ``neck`` and ``head``.
        inputs (Tensor): ``(N, 3, H, W)`` normalised images.

    Returns:
        tuple: The backbone's outputs (one ``(N, C_i, H_i, W_i)`` map per
        ``out_indices`` entry) and the ``(N, num_classes)`` logits.
    """
    outputs = classifier.backbone(inputs)
    if not isinstance(outputs, (tuple, list)):
        outputs = (outputs, )
    last = (outputs[-1], )
    if getattr(classifier, 'neck', None) is not None:
        last = classifier.neck(last)
    return tuple(outputs), classifier.head(last)


def label_mask(data_samples: List[DataSample],
               like: torch.Tensor) -> Optional[torch.Tensor]:
    """``(N, L)`` stack of the samples' ``gt_label_mask`` (1 = use, 0 =
    ignore), or None when no sample carries one."""
    if not any('gt_label_mask' in s for s in data_samples):
        return None
    ones = torch.ones(like.shape[1], dtype=like.dtype, device=like.device)
    return torch.stack([
        torch.as_tensor(s.gt_label_mask).to(like) if 'gt_label_mask' in s
        else ones for s in data_samples
    ])


def multi_label_targets(data_samples: List[DataSample],
                        num_classes: int) -> torch.Tensor:
    """``(N, L)`` 0/1 targets: ``gt_score`` if set, else one-hot labels."""
    if 'gt_score' in data_samples[0]:
        return torch.stack([s.gt_score for s in data_samples]).float()
    return torch.stack([
        label_to_onehot(s.gt_label, num_classes) for s in data_samples
    ]).float()


def masked_bce_with_logits(logits: torch.Tensor, targets: torch.Tensor,
                           mask: torch.Tensor) -> torch.Tensor:
    """BCE summed over the unmasked labels, averaged over the batch.

    .. math::
        L = \\frac{1}{N} \\sum_{n, l} m_{n,l} \\cdot
            \\mathrm{BCE}(\\sigma(z_{n,l}), y_{n,l})

    With ``m = 1`` this is mmpretrain's multi-label head loss.

    Args:
        logits (Tensor): ``(N, L)`` logits.
        targets (Tensor): ``(N, L)`` 0/1 targets.
        mask (Tensor): ``(N, L)``, 0 for entries to ignore.
    """
    bce = F.binary_cross_entropy_with_logits(
        logits, targets.to(logits), reduction='none')
    return (bce * mask).sum(dim=1).mean()


@MODELS.register_module()
class TeacherAssistant(BaseDistiller):
    """One stage of a teacher → assistant → student chain.

    Trains the lower model (``student``: the assistant, or the student) from
    one frozen upper model (``teachers``; several entries form an ensemble
    whose logits are averaged, e.g. EfficientNet-B6 + B7):

    .. math::
        \\bar z_t = \\frac{1}{K} \\sum_k z_{t,k}

        L = w_{cls} L_{hard}(z_s, y) + w_{kd}
            L_{kd}(z_s, \\bar z_t) + \\sum_k L_{feat,k}(
            g_k(f^s_{i_k}), f^t_{j_k})

    logged as ``loss_cls``, ``loss_kd`` and ``loss_feat_<k>``. For sigmoid
    (multi-label) heads ``L_hard`` is the head's BCE and ``L_kd`` is
    ``SoftBCELoss`` between ``σ(z_s / T)`` and ``σ(z̄_t / T)`` (no ``T²``);
    for softmax heads ``L_hard`` is the head's CE and ``L_kd`` is
    ``KDLoss`` (``T² · KL``). When the batch carries ``gt_label_mask``
    (CheXpert's U-Ignore policy), both are restricted to the unmasked labels
    and ``L_hard`` is :func:`masked_bce_with_logits`.

    Feature pair ``k`` compares stage ``i_k`` of the student's backbone,
    passed through a trainable connector ``g_k`` (e.g. ``ConvConnector``: 1×1
    conv + bilinear resize to the teacher map's size), with stage ``j_k`` of
    one teacher's backbone. Stages are named as in the backbones'
    ``out_indices`` (which must list them; editing ``out_indices`` does not
    re-pair them); the last entry of ``out_indices`` must be the stage the
    head reads. The student's backbone runs once per step; the logits are
    computed from its last output. Connector channel counts not given in the
    config are found by running both backbones once on a random batch of
    ``probe_shape`` when the distiller is built.

    Args:
        student (dict): Config of the lower model (an ``ImageClassifier``).
        teachers (dict): The upper model: one or more frozen teachers, see
            :class:`BaseDistiller`.
        cls_weight (float): ``w_cls``. Defaults to 1.
        kd_weight (float): ``w_kd``. Defaults to 1.
        kd_loss (dict, optional): Soft-label loss config; its temperature
            is the only one (paper: 20 on CheXpert, 30 on COVID). Defaults
            to ``SoftBCELoss`` (no ``T²``) for sigmoid heads and ``KDLoss``
            otherwise, at ``default_temperature`` (20).
        feature_pairs (Sequence[dict]): Each ``dict(student_stage=i,
            teacher_stage=j, loss=<loss cfg>, connector=<connector cfg or
            None>, teacher=<teacher name, default the first>)``, ``i`` and
            ``j`` stage numbers of the ``out_indices``. A loss's
            ``loss_weight`` is its ``λ``. ``connector=None`` compares the
            maps directly (same shape required, except for losses such as
            ``ATLoss`` that average the channels). Defaults to ().
        probe_shape (Sequence[int]): ``(C, H, W)`` of the batch used to
            find connector channels and check the backbones' out_indices.
            Defaults to (3, 32, 32).
        **kwargs: Passed to :class:`BaseDistiller`.
    """

    # the upper model's logits and features are computed live (features
    # are not cached)
    supports_teacher_cache = False

    PAIR_KEYS = ('student_stage', 'teacher_stage', 'loss', 'connector',
                 'teacher')

    default_temperature = 20.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 cls_weight: float = 1.0,
                 kd_weight: float = 1.0,
                 kd_loss: Optional[dict] = None,
                 feature_pairs: Sequence[dict] = (),
                 probe_shape: Sequence[int] = (3, 32, 32),
                 **kwargs):
        super().__init__(student, teachers, **kwargs)
        if len(self.teachers) < 1:
            raise ValueError('TeacherAssistant needs at least one entry in '
                             '`teachers`.')
        self.cls_weight, self.kd_weight = check_loss_weights(
            cls_weight=cls_weight, kd_weight=kd_weight)
        self.sigmoid_head = head_kind(self.student) != 'softmax'
        if kd_loss is None:
            kd_loss = dict(
                type='SoftBCELoss' if self.sigmoid_head else 'KDLoss',
                temperature=self.default_temperature)
        self.kd_loss = build_kd_loss(kd_loss, self.student,
                                     self.default_temperature)

        self.feature_pairs = [
            self._parse_pair(k, pair) for k, pair in enumerate(feature_pairs)
        ]
        self.feature_losses = nn.ModuleList(
            MODELS.build(pair['loss']) for pair in self.feature_pairs)
        self.connectors = nn.ModuleDict()
        if self.feature_pairs:
            self._build_connectors(tuple(probe_shape))

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        teacher_logits, teacher_feats = self._upper_outputs(inputs)
        if self.feature_pairs:
            student_feats, student_logits = features_and_logits(
                self.student, inputs)
        else:
            student_logits = self.student(inputs, mode='tensor')
        mask = (label_mask(data_samples, student_logits)
                if self.sigmoid_head else None)
        kd_kwargs = dict(labels=self.hard_labels(data_samples))
        if mask is not None:
            kd_kwargs['mask'] = mask
        losses = dict(
            loss_cls=self.cls_weight *
            self._hard_loss(student_logits, data_samples, mask),
            loss_kd=self.kd_weight *
            self.kd_loss(student_logits, teacher_logits, **kd_kwargs))
        for k, pair in enumerate(self.feature_pairs):
            target = teacher_feats[pair['teacher']][pair['teacher_index']]
            feat = student_feats[pair['student_index']]
            if str(k) in self.connectors:
                feat = self.connectors[str(k)](feat, target.shape[-2:])
            losses[f'loss_feat_{k}'] = self.feature_losses[k](feat, target)
        return losses

    def _upper_outputs(self, inputs: torch.Tensor):
        """Mean teacher logits and the backbone outputs of the teachers that
        feature pairs read (frozen: ``no_grad``, detached)."""
        with_feats = {pair['teacher'] for pair in self.feature_pairs}
        logits, feats = [], {}
        with torch.no_grad():
            for name, teacher in self.teachers.items():
                x = self.teacher_inputs(name, inputs)
                if name in with_feats:
                    feats[name], z = features_and_logits(teacher, x)
                    feats[name] = tuple(f.detach() for f in feats[name])
                else:
                    z = teacher(x, mode='tensor')
                logits.append(z.detach())
        return torch.stack(logits).mean(dim=0), feats

    def classification_loss(self, inputs: torch.Tensor,
                            data_samples: List[DataSample]
                            ) -> Dict[str, torch.Tensor]:
        """The hard loss alone (masked under U-Ignore), see
        :meth:`BaseDistiller.classification_loss`."""
        logits = self.student(inputs, mode='tensor')
        mask = (label_mask(data_samples, logits)
                if self.sigmoid_head else None)
        return dict(loss_cls=self._hard_loss(logits, data_samples, mask))

    def _hard_loss(self, logits: torch.Tensor,
                   data_samples: List[DataSample],
                   mask: Optional[torch.Tensor]) -> torch.Tensor:
        """The head's loss, or the masked BCE when labels carry masks."""
        if mask is None:
            return self.student_cls_loss(logits, data_samples)
        targets = multi_label_targets(data_samples, logits.shape[1])
        return masked_bce_with_logits(logits, targets, mask)

    def _parse_pair(self, k: int, pair: dict) -> dict:
        """Check ``feature_pairs[k]`` and fill its defaults; stages become
        positions in the backbones' outputs."""
        key = f'model.feature_pairs[{k}]'
        if not isinstance(pair, dict):
            raise TypeError(f'{key} must be a dict, got {pair!r}')
        if {'student_index', 'teacher_index'} & set(pair):
            raise KeyError(
                f'{key}: student_index / teacher_index (positions in the '
                'out_indices tuples, which silently re-pair when out_indices '
                'is edited) are replaced by student_stage / teacher_stage: '
                'the backbone stage numbers as written in out_indices.')
        unknown = set(pair) - set(self.PAIR_KEYS)
        missing = {'student_stage', 'teacher_stage', 'loss'} - set(pair)
        if unknown or missing:
            raise KeyError(f'{key} has unknown keys {sorted(unknown)} / lacks '
                           f'{sorted(missing)}; allowed: {self.PAIR_KEYS}')
        teacher = pair.get('teacher') or next(iter(self.teachers))
        if teacher not in self.teachers:
            raise KeyError(f'{key}.teacher is {teacher!r}, not one of the '
                           f'teachers {list(self.teachers)}')
        return dict(
            student_stage=int(pair['student_stage']),
            teacher_stage=int(pair['teacher_stage']),
            student_index=self._stage_position(
                self.student, int(pair['student_stage']),
                f'{key}.student_stage', 'model.student'),
            teacher_index=self._stage_position(
                self.teachers[teacher], int(pair['teacher_stage']),
                f'{key}.teacher_stage', f'model.teachers.{teacher}'),
            teacher=teacher,
            loss=pair['loss'],
            connector=pair.get('connector'))

    @staticmethod
    def _stage_position(classifier: nn.Module, stage: int, key: str,
                        model: str) -> int:
        """The position of backbone stage ``stage`` in its outputs."""
        out_indices = getattr(getattr(classifier, 'backbone', None),
                              'out_indices', None)
        if out_indices is None:
            raise TypeError(f'{key}: {model}.backbone has no out_indices, so '
                            'its stages cannot be named.')
        out_indices = list(out_indices)
        if stage not in out_indices:
            raise IndexError(
                f'{key} is {stage}, which is not in {model}.backbone.'
                f'out_indices {tuple(out_indices)}; add it there.')
        return out_indices.index(stage)

    @torch.no_grad()
    def _build_connectors(self, probe_shape: Tuple[int, ...]) -> None:
        """Probe both backbones, check the pairs' indices and shapes, and
        build the connectors with the channel counts found."""
        probe = torch.randn(
            2, *probe_shape, generator=torch.Generator().manual_seed(0))
        was_training = self.student.training
        self.student.eval()
        try:
            feats = {'student': self._probe('student', self.student, probe)}
        finally:
            self.student.train(was_training)
        for name in {pair['teacher'] for pair in self.feature_pairs}:
            feats[name] = self._probe(f'teachers.{name}.model',
                                      self.teachers[name],
                                      self.teacher_inputs(name, probe))
        for k, pair in enumerate(self.feature_pairs):
            src = self._pick(feats['student'], pair['student_index'],
                             f'feature_pairs[{k}].student_stage', 'student')
            dst = self._pick(feats[pair['teacher']], pair['teacher_index'],
                             f'feature_pairs[{k}].teacher_stage',
                             f'teachers.{pair["teacher"]}')
            loss = self.feature_losses[k]
            if pair['connector'] is None:
                if getattr(loss, 'any_channels', False):
                    continue  # e.g. attention transfer averages channels
                if src.shape[1:] != dst.shape[1:]:
                    raise ValueError(
                        f'feature_pairs[{k}] has connector=None but the maps '
                        f'differ in shape: student {tuple(src.shape[1:])}, '
                        f'teacher {tuple(dst.shape[1:])}; add '
                        "connector=dict(type='ConvConnector').")
                continue
            connector = dict(pair['connector'])
            connector.setdefault('in_channels', src.shape[1])
            connector.setdefault('out_channels', dst.shape[1])
            self.connectors[str(k)] = MODELS.build(connector)

    @staticmethod
    def _probe(key: str, classifier: nn.Module,
               probe: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Backbone outputs on ``probe``; checks the head reads the last."""
        for attr in ('backbone', 'head'):
            if getattr(classifier, attr, None) is None:
                raise TypeError(
                    f'Feature pairs need {key} to have a backbone and a head '
                    f'(an ImageClassifier), found {type(classifier).__name__}'
                    f' without `{attr}`.')
        message = (f'The last of {key}.backbone.out_indices must be the '
                   "stage the head reads (the backbone's final stage)")
        try:
            feats, logits = features_and_logits(classifier, probe)
        except RuntimeError as err:
            raise ValueError(f'{message}; the head failed on the last '
                             f'backbone output:\n{err}') from None
        reference = classifier(probe, mode='tensor')
        if logits.shape != reference.shape or not torch.allclose(
                logits, reference, atol=1e-4, rtol=1e-4):
            raise ValueError(f'{message}: the logits computed from the last '
                             "backbone output differ from the classifier's "
                             'own.')
        return feats

    @staticmethod
    def _pick(feats: Tuple[torch.Tensor, ...], index: int, key: str,
              model: str) -> torch.Tensor:
        """``feats[index]`` with a clear error for a bad index."""
        if not -len(feats) <= index < len(feats):
            raise IndexError(
                f'{key} is {index} but {model}.backbone returns '
                f'{len(feats)} outputs (one per out_indices entry).')
        feat = feats[index]
        if not isinstance(feat, torch.Tensor) or feat.dim() != 4:
            raise ValueError(
                f'{key}: output {index} of {model}.backbone is not an '
                '(N, C, H, W) feature map.')
        return feat
