"""The base class every medkd distiller builds on."""
import copy
import os.path as osp
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.structures import DataSample

from medkd.registry import MODELS
from medkd.utils.checkpoint import (classifier_state_dict, file_sha256,
                                    safe_load)


def head_num_classes(classifier: nn.Module) -> Optional[int]:
    """The number of outputs of a classifier's head, if it declares one."""
    head = getattr(classifier, 'head', None)
    return getattr(head, 'num_classes', None)


def is_multi_label(classifier: nn.Module) -> bool:
    """Whether a classifier's head uses one sigmoid per label."""
    return isinstance(getattr(classifier, 'head', None), MultiLabelClsHead)


def head_kind(classifier: nn.Module) -> str:
    """``'multi_label'`` (one sigmoid per label) or ``'softmax'``: the one
    rule every distiller, gate, default loss and metric uses to tell the head
    kinds apart. One-logit single-label heads are refused by
    :func:`check_head` when a distiller is built."""
    return 'multi_label' if is_multi_label(classifier) else 'softmax'


def check_head(classifier: nn.Module, key: str) -> None:
    """Refuse a one-logit single-label ("binary BCE") head.

    mmpretrain's ``LinearClsHead(num_classes=1,
    loss=CrossEntropyLoss(use_sigmoid=True))`` rejects integer labels, and a
    softmax over one logit is constant, so every soft-label loss would be 0.
    The two-class softmax head is the same model: ``softmax((z0, z1))_1 =
    σ(z1 - z0)``.
    """
    if not is_multi_label(classifier) and head_num_classes(classifier) == 1:
        raise ValueError(
            f'{key}.head has num_classes=1 (a one-logit sigmoid "binary BCE" '
            'head), which mmpretrain\'s single-label heads cannot train and '
            'no softmax distillation loss can use. Use the equivalent '
            "two-class softmax head, dict(type='LinearClsHead', "
            'num_classes=2, ...) (softmax of two logits = sigmoid of their '
            "difference), or dict(type='MultiLabelLinearClsHead', "
            'num_classes=1) with list labels.')


def teacher_model_config(key: str, cfg: dict):
    """``(model cfg, data preprocessor cfg or None)`` of a teacher entry.

    ``config=<file>`` reads the config the teacher was trained with: its
    ``model`` (the student of a distiller config) and its data preprocessor
    (``model.data_preprocessor``, else the top-level ``data_preprocessor``
    the runner would have used). ``model=<cfg>`` is used as it is, with an
    optional ``data_preprocessor``.
    """
    if not isinstance(cfg, dict) or ('model' in cfg) == ('config' in cfg):
        raise TypeError(
            f'model.{key} must be dict(config=<teacher training config>, '
            'ckpt=...) or dict(model=<classifier cfg>, ckpt=...), with one '
            f'of config / model, got {cfg!r}')
    if 'model' in cfg:
        model = dict(cfg['model'])
        preprocessor = cfg.get('data_preprocessor') or model.get(
            'data_preprocessor')
        model.pop('data_preprocessor', None)
        return model, preprocessor
    from mmengine.config import Config
    path = cfg['config']
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'model.{key}.config: the teacher config {path} does not exist.')
    teacher_cfg = Config.fromfile(path)
    model = teacher_cfg.get('model')
    if model is None:
        raise KeyError(f'model.{key}.config: {path} has no `model`.')
    model = model.to_dict()
    preprocessor = model.pop('data_preprocessor', None) or (
        teacher_cfg.get('data_preprocessor'))
    if 'student' in model and 'teachers' in model:
        # a teacher trained by distillation: its student is the model
        model = dict(model['student'])
        model.pop('data_preprocessor', None)
    if hasattr(preprocessor, 'to_dict'):
        preprocessor = preprocessor.to_dict()
    return model, preprocessor


def _normalisation(preprocessor: nn.Module):
    """``(mean (C,), std (C,), to_rgb)`` a data preprocessor applies
    (mean 0 / std 1 when it does not normalise)."""
    if getattr(preprocessor, '_enable_normalize', False):
        mean = preprocessor.mean.flatten().double()
        std = preprocessor.std.flatten().double()
    else:
        mean = std = None
    return mean, std, bool(getattr(preprocessor, 'to_rgb', False))


def renormalisation(student_preprocessor: nn.Module,
                    teacher_preprocessor: Optional[dict], key: str):
    """``(channel order, scale, shift)`` mapping the student's normalised
    batch to the teacher's normalisation, or None when they agree.

    ``x_t = x_s[order] * scale + shift`` with ``scale = std_s / std_t`` and
    ``shift = (mean_s - mean_t) / std_t`` per channel (the student's pixels
    ``x_s * std_s + mean_s``, reordered if the two disagree on ``to_rgb``,
    normalised with the teacher's statistics).
    """
    if not teacher_preprocessor:
        return None
    teacher = MODELS.build(
        dict(dict(type='ClsDataPreprocessor'), **teacher_preprocessor))
    mean_s, std_s, rgb_s = _normalisation(student_preprocessor)
    mean_t, std_t, rgb_t = _normalisation(teacher)
    channels = next(
        (len(m) for m in (mean_s, mean_t) if m is not None), None)
    if rgb_s == rgb_t and (mean_s is None) == (mean_t is None) and (
            mean_s is None or (torch.equal(mean_s, mean_t)
                               and torch.equal(std_s, std_t))):
        return None
    if channels is None:
        channels = 3
    ones, zeros = torch.ones(channels, dtype=torch.float64), torch.zeros(
        channels, dtype=torch.float64)
    mean_s = zeros if mean_s is None else mean_s
    std_s = ones if std_s is None else std_s
    mean_t = zeros if mean_t is None else mean_t
    std_t = ones if std_t is None else std_t
    if len(mean_s) != len(mean_t):
        raise ValueError(
            f'{key}.data_preprocessor normalises {len(mean_t)} channels but '
            f"the student's preprocessor {len(mean_s)}.")
    order = None
    if rgb_s != rgb_t:
        if channels != 3:
            raise ValueError(
                f'{key}.data_preprocessor: to_rgb differs from the '
                f"student's, which only makes sense for 3 channels, got "
                f'{channels}.')
        order = [2, 1, 0]
        mean_s, std_s = mean_s[order], std_s[order]
    scale = (std_s / std_t).float().view(1, -1, 1, 1)
    shift = ((mean_s - mean_t) / std_t).float().view(1, -1, 1, 1)
    return order, scale, shift


def _init_module(module: nn.Module) -> None:
    """``module.init_weights()``, or of its children for containers
    without one (``nn.ModuleDict`` / ``ModuleList`` of connectors)."""
    if hasattr(module, 'init_weights'):
        module.init_weights()
        return
    for child in module.children():
        _init_module(child)


def check_loss_weights(**weights: float) -> tuple:
    """Check the loss weights of a distiller (``cls_weight``,
    ``kd_weight``, ...) are finite non-negative numbers; return them in
    order."""
    for key, value in weights.items():
        if not isinstance(value, (int, float)) or not 0 <= value < float(
                'inf'):
            raise ValueError(f'model.{key} must be a finite number >= 0, got '
                             f'{value!r}.')
    return tuple(float(v) for v in weights.values())


def build_kd_loss(kd_loss: Optional[dict],
                  classifier: nn.Module,
                  temperature: float,
                  key: str = 'kd_loss',
                  batch_augments: bool = False) -> nn.Module:
    """Build a distiller's soft-label loss and check it fits the head.

    A loss that cannot train the head is refused: on a two-class softmax
    head the z-scored logits of ``LogitStdKDLoss`` are always ``(±1/√2,
    ∓1/√2)`` (constant, gradient ~1e-8), so it is an error; DIST's
    inter-class Pearson term is ``±1`` there (its gradient comes from its
    ``eps`` only), so it is dropped (``beta = 0``, the intra-class term
    trains the student) with a logged notice. A loss that reads the class
    label (``needs_labels``, e.g. DKD's target class) is refused with batch
    augments (Mixup / CutMix), whose label is a mixture of two.

    Args:
        kd_loss (dict, optional): The loss config; None gives ``KDLoss``
            for softmax heads and ``SoftBCELoss`` (with ``T²``) for sigmoid
            heads, at ``temperature``.
        classifier (nn.Module): The student.
        temperature (float): Temperature of the default loss.
        key (str): How errors name the config key. Defaults to
            ``'kd_loss'``.
        batch_augments (bool): Whether the distiller mixes its batches
            (Mixup / CutMix). Defaults to False.

    Raises:
        ValueError: The loss does not apply to the student's head kind
            (e.g. a softmax loss for a multi-label head).
    """
    kind = head_kind(classifier)
    sigmoid = kind == 'multi_label'
    if kd_loss is None:
        kd_loss = (dict(type='SoftBCELoss', temperature=temperature,
                        scale_by_t2=True) if sigmoid else
                   dict(type='KDLoss', temperature=temperature))
    loss = MODELS.build(kd_loss)
    kinds = getattr(loss, 'head_kinds', ('softmax', 'multi_label'))
    if kind not in kinds:
        fitting = ('SoftBCELoss or MultiLabelDISTLoss' if sigmoid else
                   'KDLoss, LogitStdKDLoss, DKDLoss or DISTLoss')
        raise ValueError(
            f'model.{key}: {type(loss).__name__} applies to {kinds} heads, '
            f'but the student\'s head is {kind!r}; use {fitting} for this '
            'head.')
    name = type(loss).__name__
    two_class = not sigmoid and head_num_classes(classifier) == 2
    if two_class and name == 'LogitStdKDLoss':
        raise ValueError(
            f'model.{key}: LogitStdKDLoss cannot train a 2-class softmax '
            'student: z-scored 2-vectors are always (±1/√2, ∓1/√2), so the '
            'loss is constant (gradient ~1e-8). Use DISTLoss (its '
            'intra-class term), KDLoss or DKDLoss for a binary task.')
    if two_class and name == 'DISTLoss' and loss.beta:
        MMLogger.get_current_instance().warning(
            f'model.{key}: DISTLoss on a 2-class softmax student: its '
            'inter-class Pearson term is ±1 for every sample (no gradient), '
            f'so it is dropped (beta {loss.beta} -> 0); the intra-class term '
            'trains the student.')
        loss.beta = 0.0
    if (sigmoid and name == 'MultiLabelDISTLoss' and loss.beta
            and head_num_classes(classifier) == 1):
        raise ValueError(
            f'model.{key}: MultiLabelDISTLoss on a one-label sigmoid student: '
            'the inter-label term correlates each sample\'s label scores, '
            f'which needs at least 2 labels. Set {key}.beta=0 (the '
            'intra-label term alone) or use SoftBCELoss.')
    if batch_augments and getattr(loss, 'needs_labels', False):
        raise ValueError(
            f'model.{key}: {name} reads each sample\'s class label, but '
            'the batches are mixed (Mixup / CutMix batch augments), whose '
            'label is a mixture of two classes (mmpretrain keeps the first '
            'image\'s in gt_label). Remove the batch augments, or use '
            'a loss that needs no label (DISTLoss, KDLoss, LogitStdKDLoss).')
    return loss


def load_classifier_weights(model: nn.Module, ckpt: str, name: str) -> None:
    """Load a classifier checkpoint (its own, or a distiller's student part).

    Args:
        model (nn.Module): The classifier to fill.
        ckpt (str): Path of a checkpoint saved by mmengine (``state_dict``
            key) or a plain state dict. A distiller checkpoint contributes the
            weights under its ``student.`` prefix.
        name (str): How error messages name this model (e.g.
            ``teachers.swin``).
    """
    state = classifier_state_dict(safe_load(ckpt, map_location='cpu'))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise RuntimeError(
            f'The checkpoint "{ckpt}" given as {name}.ckpt does not fit the '
            f'architecture in {name}.model (another architecture or another '
            f'class count?):\n{err}') from None


def _drop_file_teachers(module, state_dict, prefix, local_metadata) -> None:
    """``state_dict`` post-hook: the weights of teachers loaded from a file
    are left out (the file's path and SHA-256 are in the checkpoint's
    ``meta['teacher_files']``), so a distiller checkpoint is about the size
    of its trainable parts."""
    for name in module.teacher_files:
        start = f'{prefix}teachers.{name}.'
        for key in [k for k in state_dict if k.startswith(start)]:
            del state_dict[key]


def _restore_file_teachers(module, state_dict, prefix, local_metadata, strict,
                           missing_keys, unexpected_keys, error_msgs) -> None:
    """``load_state_dict`` pre-hook: a checkpoint without a teacher's weights
    (see :func:`_drop_file_teachers`) keeps the weights the teacher has,
    i.e. those of its configured file (``TeacherFilesHook`` checks that this
    is the file the checkpoint was trained with) or, when the teachers are
    not loaded (``tools/test.py``), its unused initial weights. A checkpoint
    that has them (older medkd) loads them."""
    module.restore_teachers()  # released weights cannot be filled in
    for name, teacher in module.teachers.items():
        start = f'{prefix}teachers.{name}.'
        if any(k.startswith(start) for k in state_dict):
            continue
        for key, value in teacher.state_dict().items():
            state_dict[start + key] = value


class BaseDistiller(BaseModel, metaclass=ABCMeta):
    """A trainable student and frozen teachers behind one mmengine model.

    Teachers are frozen (``requires_grad=False``), pinned to ``eval()`` even
    when the runner calls ``model.train()``, and run under ``no_grad`` in
    ``'tensor'`` mode (no labels, no teacher loss). The student's data
    preprocessor is the distiller's. ``predict`` returns the student's
    :class:`DataSample`s, so every mmpretrain / medkd metric works unchanged;
    with ``eval_teachers=True`` each sample also carries
    ``pred_score_<teacher>`` for metrics configured with
    ``score_field='pred_score_<teacher>'``.

    Subclasses implement :meth:`loss` only (and extend :meth:`predict` to add
    method-specific outputs).

    Args:
        student (dict): Config of the student classifier (e.g. mmpretrain's
            ``ImageClassifier``).
        teachers (dict): ``{name: dict(config=<the teacher's training
            config file>, ckpt=<path or None>)}`` (the teacher's model and
            data preprocessor come from the config it was trained with; a
            distiller config gives its student) or ``{name:
            dict(model=<classifier cfg>, data_preprocessor=<optional>,
            ckpt=...)}``. Each teacher sees the batch normalised as it was
            trained: the student's normalised batch is mapped back to pixels
            and normalised with the teacher's mean / std / channel order
            (:meth:`teacher_inputs`). ``resize_input=(H, W)`` bilinearly
            resizes the student's (already augmented, normalised) batch for
            that teacher: an upsampled view of the student's crop, not a
            larger crop of the image.
        data_preprocessor (dict, optional): Defaults to the student's
            ``data_preprocessor``.
        eval_teachers (bool): Also attach each teacher's probabilities to the
            predictions. Defaults to False.
        channels_last (bool): Run the student and the teachers in the
            ``channels_last`` memory format (faster convolutions on recent
            GPUs and CPUs). Defaults to False.
        init_cfg (dict, optional): Initialisation config of the distiller.
    """

    #: Whether :meth:`loss` reads teacher logits through
    #: :meth:`teacher_logits` with the data samples, so that a teacher-output
    #: cache (``teacher_cache = dict(...)``) can serve them.
    supports_teacher_cache = True

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
        # switched off by StopDistillHook: then the loss is the student's
        # classification loss only and the teachers do not run
        self.distillation_enabled = True
        self.teachers = nn.ModuleDict()
        self.teacher_ckpts: Dict[str, Optional[str]] = {}
        # teachers whose weights come from a file: {name: {'ckpt': path,
        # 'sha256': ...}}. Checkpoints store these instead of the weights.
        self.teacher_files: Dict[str, Dict[str, str]] = {}
        self.teacher_input_sizes: Dict[str, Optional[tuple]] = {}
        self.teacher_norms: Dict[str, Optional[tuple]] = {}
        self.teacher_cache = None
        # teachers whose parameters are freed while a complete cache serves
        # their outputs: {name: {param name: (shape, dtype, device)}}
        self._released: Dict[str, Dict[str, tuple]] = {}
        for name, cfg in teachers.items():
            self.add_teacher(name, cfg)
        self.channels_last = channels_last
        if channels_last:
            self.student.to(memory_format=torch.channels_last)
            self.teachers.to(memory_format=torch.channels_last)
        self.register_state_dict_post_hook(_drop_file_teachers)
        self.register_load_state_dict_pre_hook(_restore_file_teachers)

    TEACHER_KEYS = ('model', 'config', 'ckpt', 'data_preprocessor',
                    'resize_input')

    def add_teacher(self, name: str, cfg: dict) -> None:
        """Build, check, load and freeze one teacher."""
        key = f'teachers.{name}'
        model_cfg, preprocessor = teacher_model_config(key, cfg)
        unknown = set(cfg) - set(self.TEACHER_KEYS)
        if unknown:
            hint = (' (`input_size` is now `resize_input`: a bilinear '
                    'resize of the student\'s batch)'
                    if 'input_size' in unknown else '')
            raise KeyError(f'model.{key} has unknown keys {sorted(unknown)}; '
                           f'allowed: {", ".join(self.TEACHER_KEYS)}{hint}')
        teacher = MODELS.build(model_cfg)
        check_head(teacher, f'model.{key}.model')
        n_student = head_num_classes(self.student)
        n_teacher = head_num_classes(teacher)
        if None not in (n_student, n_teacher) and n_student != n_teacher:
            raise ValueError(
                f'{key}.model.head.num_classes is {n_teacher} but '
                f'student.head.num_classes is {n_student}: a teacher must '
                'predict the same classes as the student.')
        if cfg.get('ckpt'):
            load_classifier_weights(teacher, cfg['ckpt'], key)
        teacher.requires_grad_(False)
        teacher.eval()
        self.teachers[name] = teacher
        self.teacher_ckpts[name] = cfg.get('ckpt')
        if cfg.get('ckpt'):
            self.record_teacher_file(name, cfg['ckpt'])
        size = cfg.get('resize_input')
        self.teacher_input_sizes[name] = None if size is None else tuple(
            size if isinstance(size, (list, tuple)) else (size, size))
        self.teacher_norms[name] = renormalisation(
            self.data_preprocessor, preprocessor, f'model.{key}')

    def record_teacher_file(self, name: str, path: str) -> None:
        """Note that teacher ``name`` now holds the weights of ``path``:
        checkpoints store ``{'ckpt': path, 'sha256': ...}`` for it
        (``meta['teacher_files']``) instead of its weights."""
        self.teacher_files[name] = dict(ckpt=path, sha256=file_sha256(path))

    def predict_needs_teachers(self) -> bool:
        """Whether :meth:`predict` runs the teachers (``eval_teachers``)."""
        return bool(self.eval_teachers)

    @property
    def teachers_released(self) -> bool:
        """Whether some teacher's weights are freed (see
        :meth:`release_teachers`)."""
        return bool(self._released)

    def release_teachers(self) -> Dict[str, int]:
        """Free the parameters of every teacher loaded from a file, while a
        complete teacher-output cache gives all their outputs
        (:class:`~medkd.engine.hooks.TeacherCacheHook` calls it); a
        training step then holds the student and the method's own modules
        only, on any device. :meth:`restore_teachers` reloads them from
        their files. Returns ``{name: bytes freed}``."""
        freed = {}
        for name in self.teacher_files:
            if name in self._released:
                continue
            teacher = self.teachers[name]
            self._released[name] = {
                key: (p.shape, p.dtype, p.device)
                for key, p in teacher.named_parameters()
            }
            freed[name] = 0
            for p in teacher.parameters():
                freed[name] += p.numel() * p.element_size()
                p.data = torch.empty(0, dtype=p.dtype, device=p.device)
        return freed

    def restore_teachers(self, reload: bool = True) -> List[str]:
        """Give released teachers their parameters back, reloaded from their
        files (``reload=False``: allocated only, for a caller that loads
        other weights). Returns the names restored."""
        names = list(self._released)
        for name in names:
            shapes = self._released.pop(name)
            teacher = self.teachers[name]
            for key, p in teacher.named_parameters():
                shape, dtype, device = shapes[key]
                layout = (torch.channels_last if self.channels_last
                          and len(shape) == 4 else torch.contiguous_format)
                p.data = torch.empty(shape, dtype=dtype, device=device,
                                     memory_format=layout)
            if reload:
                load_classifier_weights(teacher,
                                        self.teacher_files[name]['ckpt'],
                                        f'teachers.{name}')
        return names

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
        super().train(mode)
        self.teachers.eval()
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
        trainable = [(n, m) for n, m in self.named_children()
                     if n not in ('teachers', 'data_preprocessor')]
        if self.init_cfg:
            for _, module in trainable:
                initialize(module, copy.deepcopy(self.init_cfg))
        for _, module in trainable:
            _init_module(module)
        for name, teacher in self.teachers.items():
            if not self.teacher_ckpts[name]:
                teacher.init_weights()
        self._is_init = True

    # ------------------------------------------------------------------
    # helpers for subclasses
    # ------------------------------------------------------------------
    @property
    def multi_label(self) -> bool:
        """Whether the student has a multi-label (sigmoid) head
        (:func:`head_kind`)."""
        return head_kind(self.student) == 'multi_label'

    def to_probs(self, logits: torch.Tensor, temperature: float = 1.0):
        """``softmax(z / T)``, or ``σ(z / T)`` for multi-label heads."""
        if self.multi_label:
            return torch.sigmoid(logits / temperature)
        return F.softmax(logits / temperature, dim=1)

    def teacher_inputs(self, name: str, inputs: torch.Tensor) -> torch.Tensor:
        """The batch as teacher ``name`` sees it: normalised with the
        teacher's own preprocessing (when it differs from the student's)
        and optionally resized (``resize_input``)."""
        norm = self.teacher_norms.get(name)
        if norm is not None:
            order, scale, shift = norm
            if order is not None:
                inputs = inputs[:, order]
            inputs = inputs * scale.to(inputs) + shift.to(inputs)
        size = self.teacher_input_sizes[name]
        if size is None or tuple(inputs.shape[-2:]) == size:
            return inputs
        return F.interpolate(
            inputs, size=size, mode='bilinear', align_corners=False)

    @torch.no_grad()
    def teacher_logits(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None
    ) -> Dict[str, torch.Tensor]:
        """``{name: (N, C) logits}`` of every frozen teacher.

        With a teacher output cache attached (``self.teacher_cache``, set by
        :class:`~medkd.engine.hooks.TeacherCacheHook`) and samples that carry
        a ``cache_index``, the logits are read from the cache instead; the
        rows a lazily filled cache does not hold yet are computed by the
        teachers once and stored.
        """
        if self.teacher_cache is not None and data_samples:
            indices = [s.metainfo.get('cache_index') for s in data_samples]
            if None not in indices:
                cache = self.teacher_cache
                missing = cache.missing(indices)
                if missing.any():  # first draw of these (sample, view)s
                    rows = np.flatnonzero(missing)
                    live = self._live_teacher_logits(
                        inputs[torch.from_numpy(rows).to(inputs.device)])
                    cache.store(
                        np.asarray(indices)[rows],
                        torch.stack(list(live.values()), dim=1))
                rows = cache.lookup(indices).to(inputs.device)
                return {
                    name: rows[:, k]
                    for k, name in enumerate(self.teachers)
                }
        return self._live_teacher_logits(inputs)

    def _live_teacher_logits(self,
                             inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self._released:
            raise RuntimeError(
                f'The teachers {sorted(self._released)} are released (a '
                'complete teacher-output cache serves their outputs) but '
                'their live outputs were asked for; call restore_teachers() '
                'first.')
        return {
            name:
            teacher(self.teacher_inputs(name, inputs), mode='tensor').detach()
            for name, teacher in self.teachers.items()
        }

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
        if head_kind(self.student) != 'softmax' or not data_samples:
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
