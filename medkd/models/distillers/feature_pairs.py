"""Feature-pair distillation shared by the distillers: a student stage,
through a trainable connector, against a teacher stage."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn

from medkd.models.classifiers import features_and_logits
from medkd.registry import MODELS

__all__ = ['FeaturePairsMixin']


class FeaturePairsMixin:
    """``feature_pairs`` for a distiller (used by :class:`TeacherAssistant`,
    :class:`VanillaKD` and its subclass :class:`CheckpointSequence`,
    :class:`GatedMultiTeacher`).

    Each pair is ``dict(student_stage=i, teacher_stage=j, loss=<feature
    loss cfg>, connector=<connector cfg or None>, teacher=<name, default
    the first>)``: stage ``i`` of the student's backbone (a value of its
    ``out_indices``), passed through a trainable connector (e.g.
    ``ConvConnector``), is compared with stage ``j`` of the teacher's by the
    loss (``FeatureKLLoss``, ``WassersteinFeatureLoss``, ``FitNetsLoss``,
    ``ATLoss``; its ``loss_weight`` weighs it), logged as ``loss_feat_<k>``.
    Connector channel counts not given are found by running the backbones
    once on a random ``probe_shape`` batch when the distiller is built.
    """

    PAIR_KEYS = ('student_stage', 'teacher_stage', 'loss', 'connector',
                 'teacher')

    def build_feature_pairs(self, feature_pairs: Sequence[dict],
                            probe_shape: Sequence[int]) -> None:
        """Parse ``feature_pairs``, build their losses and connectors."""
        self.feature_pairs = [
            self._parse_pair(k, pair) for k, pair in enumerate(feature_pairs)
        ]
        self.feature_losses = nn.ModuleList(
            MODELS.build(pair['loss']) for pair in self.feature_pairs)
        self.connectors = nn.ModuleDict()
        if self.feature_pairs:
            self._build_connectors(tuple(probe_shape))

    @torch.no_grad()
    def teacher_features(self, inputs: torch.Tensor):
        """``({name: logits}, {name: backbone outputs})`` of every teacher
        (the outputs only for teachers that pairs read); frozen, detached."""
        with_feats = {pair['teacher'] for pair in self.feature_pairs}
        logits, feats = {}, {}
        for name, teacher in self.teachers.items():
            x = self.teacher_view(name, inputs)
            if name in with_feats:
                feats[name], logits[name] = teacher.features(x)
            else:
                logits[name] = teacher(x)
        return logits, feats

    def feature_pair_losses(self, student_feats, teacher_feats
                            ) -> Dict[str, torch.Tensor]:
        """``{'loss_feat_<k>': value}`` of every pair."""
        losses = {}
        for k, pair in enumerate(self.feature_pairs):
            target = teacher_feats[pair['teacher']][pair['teacher_index']]
            feat = student_feats[pair['student_index']]
            if str(k) in self.connectors:
                feat = self.connectors[str(k)](feat, target.shape[-2:])
            losses[f'loss_feat_{k}'] = self.feature_losses[k](feat, target)
        return losses

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
                self.teachers[teacher].model, int(pair['teacher_stage']),
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
            teacher = self.teachers[name]
            feats[name] = self._probe(
                f'teachers.{name}.model', teacher.model,
                teacher.inputs_for(self.teacher_view(name, probe)))
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
