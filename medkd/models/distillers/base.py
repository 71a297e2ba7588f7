"""The base class every medkd distiller builds on: a trainable student,
frozen teacher components (:mod:`medkd.models.teachers`) and the mmengine
entry points."""
import copy
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from medkd.models.head_kind import (check_head, head_kind, head_num_classes,
                                    to_probs)
from medkd.models.losses import build_kd_loss
from medkd.models.teachers import FrozenTeacher, build_teacher
from medkd.registry import MODELS
from medkd.utils.checkpoint import unwrap_model

__all__ = ['BaseDistiller', 'is_distiller', 'student_of']


def is_distiller(model) -> bool:
    """The one test of "is this a distiller?": a built model (wrapped in
    DDP or not) that is a :class:`BaseDistiller`, or a model config whose
    ``type`` is registered as one."""
    if isinstance(model, dict):
        kind = model.get('type', '')
        cls = MODELS.get(kind) if isinstance(kind, str) else kind
        return isinstance(cls, type) and issubclass(cls, BaseDistiller)
    return isinstance(unwrap_model(model), BaseDistiller)


def student_of(model) -> nn.Module:
    """The classifier a model's predictions come from: a distiller's
    student, or the (unwrapped) model itself."""
    model = unwrap_model(model)
    return model.student if is_distiller(model) else model


class BaseDistiller(BaseModel, metaclass=ABCMeta):
    """A trainable student and frozen teachers behind one mmengine model.

    Each teacher is a :class:`~medkd.models.teachers.FrozenTeacher`
    component (in ``self.teachers``, a ``ModuleDict``): frozen, always in
    ``eval()``, fed the batch normalised its own way, left out of the
    distiller's checkpoints when it comes from a file. The student's data
    preprocessor is the distiller's. ``predict`` returns the student's
    :class:`DataSample`s, so every mmpretrain / medkd metric works
    unchanged; with ``eval_teachers=True`` each sample also carries
    ``pred_score_<teacher>`` for metrics configured with
    ``score_field='pred_score_<teacher>'``.

    Subclasses implement :meth:`loss` (the method), and may extend
    :meth:`predict`, :meth:`teacher_view` (what part of the batch a teacher
    sees) and :meth:`build_teacher` (how an entry becomes a teacher).

    Args:
        student (dict): Config of the student classifier (e.g. mmpretrain's
            ``ImageClassifier``).
        teachers (dict): ``{name: dict(config=<the teacher's training
            config file>, ckpt=<path or None>)}`` or ``{name:
            dict(model=<classifier cfg>, data_preprocessor=<optional>,
            ckpt=...)}``, plus ``resize_input`` and the other arguments of
            the teacher kind (``type``, default ``'FrozenTeacher'``).
        data_preprocessor (dict, optional): Defaults to the student's
            ``data_preprocessor``.
        eval_teachers (bool): Also attach each teacher's probabilities to the
            predictions. Defaults to False.
        channels_last (bool): Run the student and the teachers in the
            ``channels_last`` memory format. Defaults to False.
        init_cfg (dict, optional): Initialisation config of the distiller.
    """

    #: Whether :meth:`loss` reads teacher logits through
    #: :meth:`teacher_logits` with the data samples, so that a teacher-output
    #: cache (``teacher_cache = dict(...)``) can serve them.
    supports_teacher_cache = True

    #: Temperature of the default soft-label loss (``kd_loss=None``).
    default_temperature = 4.0

    def __init__(self,
                 student: dict,
                 teachers: dict,
                 data_preprocessor: Optional[dict] = None,
                 eval_teachers: bool = False,
                 channels_last: bool = False,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(
            data_preprocessor or student.get('data_preprocessor') or {})
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        # mmpretrain's ImageClassifier turns train_cfg=dict(augments=...)
        # (Mixup, CutMix) into batch augments of its preprocessor; the
        # distiller's preprocessor runs instead, so it takes them over: the
        # teachers see the same mixed images as the student.
        train_cfg = student.get('train_cfg') or {}
        if train_cfg.get('augments'):
            if data_preprocessor.get('batch_augments'):
                raise ValueError(
                    'model.student.train_cfg.augments and '
                    'model.data_preprocessor.batch_augments both set batch '
                    'augments; keep one.')
            data_preprocessor['batch_augments'] = dict(train_cfg)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(student)
        check_head(self.student, 'model.student')
        self.eval_teachers = eval_teachers
        #: what :meth:`teachers_needed_to_predict` reads (subclasses add
        #: the options their predict depends on)
        self.predict_options = dict(eval_teachers=eval_teachers)
        # switched off by StopDistillHook: then the loss is the student's
        # classification loss only and the teachers do not run
        self.distillation_enabled = True
        self.channels_last = channels_last
        if not isinstance(teachers, dict):
            raise TypeError(f'model.teachers must be a dict of teacher '
                            f'entries by name, got {teachers!r}')
        self.teachers = nn.ModuleDict(
            {name: self.build_teacher(name, cfg)
             for name, cfg in teachers.items()})
        if channels_last:
            self.student.to(memory_format=torch.channels_last)

    def build_teacher(self, name: str, cfg: dict,
                      **filled_in) -> FrozenTeacher:
        """Build teacher ``name`` from its config entry (see
        :func:`~medkd.models.teachers.build_teacher`; ``filled_in``:
        arguments of the teacher kind that are not config keys)."""
        return build_teacher(cfg, name, head_num_classes(self.student),
                             student_preprocessor=self.data_preprocessor,
                             channels_last=self.channels_last, **filled_in)

    def build_kd_loss(self, kd_loss: Optional[dict]) -> nn.Module:
        """The soft-label loss ``kd_loss`` (None: ``KDLoss`` / ``SoftBCELoss``
        at :attr:`default_temperature`), checked against the student."""
        return build_kd_loss(kd_loss, self.student, self.default_temperature,
                             batch_augments=self.batch_augmented)

    @property
    def teacher_files(self) -> Dict[str, Dict[str, str]]:
        """``{name: {'ckpt': path, 'sha256': hex}}`` of the teachers whose
        weights come from a file (what checkpoints store instead)."""
        return {name: teacher.file for name, teacher in self.teachers.items()
                if teacher.file is not None}

    @classmethod
    def teachers_needed_to_predict(cls, options: dict) -> bool:
        """The one declaration of whether :meth:`predict` runs the teachers,
        read from the model config (``tools/test.py`` then loads their
        files) and from a built model (:meth:`predict_needs_teachers`).
        Here: ``eval_teachers``. A distiller whose predictions use the
        teachers otherwise overrides it.

        Args:
            options (dict): The model config (or :attr:`predict_options`).
        """
        return bool(options.get('eval_teachers'))

    def predict_needs_teachers(self) -> bool:
        """Whether :meth:`predict` runs the teachers."""
        return self.teachers_needed_to_predict(self.predict_options)

    # ------------------------------------------------------------------
    # mmengine entry points
    # ------------------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if self.channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if mode == 'tensor':
            return self.student(inputs, mode='tensor')
        if mode == 'loss':
            if not self.distillation_enabled:
                return self.classification_loss(inputs, data_samples)
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def classification_loss(self, inputs: torch.Tensor,
                            data_samples: List[DataSample]
                            ) -> Dict[str, torch.Tensor]:
        """``{'loss_cls': the student head's loss}`` (unweighted), the loss
        while distillation is off (:class:`~medkd.engine.hooks.
        StopDistillHook`); the teachers do not run."""
        logits = self.student(inputs, mode='tensor')
        return dict(loss_cls=self.student_cls_loss(logits, data_samples))

    @abstractmethod
    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Return the method's losses (keys containing ``loss`` are summed)
        and any extra scalars to log (keys without ``loss``)."""

    def predict(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[List[DataSample]] = None
    ) -> List[DataSample]:
        """The student's predictions (and the teachers' scores with
        ``eval_teachers``)."""
        predictions = self.student.predict(inputs, data_samples)
        if self.eval_teachers:
            self.attach_teacher_scores(predictions,
                                       self.teacher_logits(inputs))
        return predictions

    def attach_teacher_scores(self, predictions: List[DataSample],
                              teacher_logits: Dict[str, torch.Tensor]):
        """Store each teacher's probabilities as ``pred_score_<name>``."""
        for name, logits in teacher_logits.items():
            for sample, score in zip(predictions, self.to_probs(logits)):
                sample.set_field(score, f'pred_score_{name}')

    def train(self, mode: bool = True):
        """As ``nn.Module.train``; the teachers stay in ``eval()``."""
        super().train(mode)
        self.teachers.train(False)
        return self

    def init_weights(self):
        """Initialise the student and method modules; teachers loaded from a
        checkpoint keep their weights.

        As mmengine's ``BaseModule.init_weights``: the distiller's own
        ``init_cfg`` is applied first, to every module except the teachers,
        then each module's ``init_weights`` (its own ``init_cfg``) runs, also
        inside containers such as the ``connectors`` ModuleDict.
        """
        from mmengine.model import initialize
        trainable = [m for n, m in self.named_children()
                     if n not in ('teachers', 'data_preprocessor')]
        if self.init_cfg:
            for module in trainable:
                initialize(module, copy.deepcopy(self.init_cfg))
        for module in trainable:
            _init_module(module)
        for teacher in self.teachers.values():
            teacher.init_weights()
        self._is_init = True

    # ------------------------------------------------------------------
    # helpers for subclasses
    # ------------------------------------------------------------------
    @property
    def head_kind(self) -> str:
        """The student's head kind (:func:`~medkd.models.head_kind.
        head_kind`): ``'softmax'`` or ``'multi_label'``."""
        return head_kind(self.student)

    @property
    def multi_label(self) -> bool:
        return self.head_kind == 'multi_label'

    def to_probs(self, logits: torch.Tensor, temperature: float = 1.0):
        """``softmax(z / T)``, or ``σ(z / T)`` for multi-label heads."""
        return to_probs(logits, self.head_kind, temperature)

    def teacher_view(self, name: str, inputs: torch.Tensor) -> torch.Tensor:
        """The part of the student's batch teacher ``name`` is given (all
        of it; :class:`MultiModalMIMO` gives each teacher its slot)."""
        return inputs

    def teacher_logits(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None
    ) -> Dict[str, torch.Tensor]:
        """``{name: (N, C) logits}`` of every frozen teacher (from the
        teacher-output cache where it serves ``data_samples``)."""
        return {name: teacher(self.teacher_view(name, inputs), data_samples)
                for name, teacher in self.teachers.items()}

    @property
    def batch_augmented(self) -> bool:
        """Whether training batches are mixed (Mixup / CutMix batch
        augments of the distiller's data preprocessor)."""
        return getattr(self.data_preprocessor, 'batch_augments',
                       None) is not None

    def hard_labels(self, data_samples: List[DataSample]
                    ) -> Optional[torch.Tensor]:
        """``(N,)`` class indices for single-label (softmax) students, the
        ``labels`` argument of the soft-label losses; None otherwise.
        Under batch augments these are the first image's labels
        (mmpretrain keeps ``gt_label`` unmixed): terms that can use the
        mixture read :meth:`label_targets`."""
        if self.multi_label or not data_samples:
            return None
        return torch.cat([s.gt_label.reshape(-1)[:1]
                          for s in data_samples]).long()

    def label_targets(self, data_samples: List[DataSample]
                      ) -> Optional[torch.Tensor]:
        """What a label-aware term (a gate's CE, CA-MKD's weights) compares
        with, for single-label students: the ``(N, C)`` mixed targets
        (``gt_score``) of a Mixup / CutMix batch, else the ``(N,)`` class
        indices (:meth:`hard_labels`); None for multi-label students."""
        labels = self.hard_labels(data_samples)
        if labels is None or not all('gt_score' in s for s in data_samples):
            return labels
        return torch.stack([s.gt_score for s in data_samples]).float()

    def student_cls_loss(self, logits: torch.Tensor,
                         data_samples: List[DataSample]) -> torch.Tensor:
        """The hard-label loss configured in the student's head."""
        return self.student.head._get_loss(logits, data_samples)['loss']


def _init_module(module: nn.Module) -> None:
    """``module.init_weights()``, or of its children for containers
    without one (``nn.ModuleDict`` / ``ModuleList`` of connectors)."""
    if hasattr(module, 'init_weights'):
        module.init_weights()
        return
    for child in module.children():
        _init_module(child)
