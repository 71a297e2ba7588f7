"""The frozen teacher: everything about one teacher of a distiller."""
import hashlib
import inspect
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from medkd.models.classifiers.features import features_and_logits
from medkd.models.head_kind import check_head, head_num_classes
from medkd.registry import MODELS
from medkd.utils.checkpoint import file_sha256, load_classifier_weights

__all__ = ['FrozenTeacher', 'build_teacher', 'teacher_model_config']


def teacher_model_config(key: str, config: Optional[str] = None,
                         model: Optional[dict] = None,
                         data_preprocessor: Optional[dict] = None):
    """``(model cfg, data preprocessor cfg or None)`` of a teacher.

    ``config=<file>`` reads the config the teacher was trained with: its
    ``model`` (the student of a distiller config) and its data preprocessor
    (``model.data_preprocessor``, else the top-level ``data_preprocessor``
    the runner would have used). ``model=<cfg>`` is used as it is, with an
    optional ``data_preprocessor``.
    """
    if (model is None) == (config is None):
        raise TypeError(
            f'{key} must be dict(config=<teacher training config>, ckpt=...) '
            'or dict(model=<classifier cfg>, ckpt=...), with one of config / '
            f'model, got config={config!r}, model={model!r}')
    if model is not None:
        model = dict(model)
        preprocessor = data_preprocessor or model.get('data_preprocessor')
        model.pop('data_preprocessor', None)
        return model, preprocessor
    from medkd.utils.config import load_config
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'{key}.config: the teacher config {config} does not exist.')
    teacher_cfg = load_config(config)
    model = teacher_cfg.get('model')
    if model is None:
        raise KeyError(f'{key}.config: {config} has no `model`.')
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


def _normalisation(preprocessor: Optional[nn.Module]):
    """``(mean (C,), std (C,), to_rgb)`` a data preprocessor applies
    (None / None when it does not normalise)."""
    if getattr(preprocessor, '_enable_normalize', False):
        mean = preprocessor.mean.flatten().double()
        std = preprocessor.std.flatten().double()
    else:
        mean = std = None
    return mean, std, bool(getattr(preprocessor, 'to_rgb', False))


def renormalisation(student_preprocessor: Optional[nn.Module],
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
    if rgb_s == rgb_t and (mean_s is None) == (mean_t is None) and (
            mean_s is None or (torch.equal(mean_s, mean_t)
                               and torch.equal(std_s, std_t))):
        return None
    channels = next((len(m) for m in (mean_s, mean_t) if m is not None), 3)
    ones = torch.ones(channels, dtype=torch.float64)
    zeros = torch.zeros(channels, dtype=torch.float64)
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


def _drop_file_weights(module, state_dict, prefix, local_metadata) -> None:
    """``state_dict`` post-hook: a teacher loaded from a file is left out of
    its distiller's checkpoints (they store its path and SHA-256, see
    :attr:`FrozenTeacher.file`)."""
    if module.ckpt is not None:
        for key in [k for k in state_dict if k.startswith(prefix)]:
            del state_dict[key]


def _fill_file_weights(module, state_dict, prefix, local_metadata, strict,
                       missing_keys, unexpected_keys, error_msgs) -> None:
    """``load_state_dict`` pre-hook: a checkpoint without the teacher's
    weights (see :func:`_drop_file_weights`) keeps the weights the teacher
    has (its configured file, checked by ``TeacherFilesHook``, or unused
    initial weights when ``tools/test.py`` does not load teachers); one with
    them loads them, also under the keys of medkd before the teacher
    component (``teachers.<name>.<param>``, without ``model.``)."""
    children = set(dict(module.named_children()))
    for key in [k for k in state_dict if k.startswith(prefix)]:
        if key[len(prefix):].split('.')[0] not in children:
            state_dict[f'{prefix}model.{key[len(prefix):]}'] = \
                state_dict.pop(key)
    module.restore()  # released weights cannot be filled in
    if not any(k.startswith(prefix) for k in state_dict):
        for key, value in module.model.state_dict().items():
            state_dict[f'{prefix}model.{key}'] = value


def _size(value) -> Optional[Tuple[int, int]]:
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple)) else (value,
                                                                   value)


@MODELS.register_module()
class FrozenTeacher(nn.Module):
    """One frozen teacher of a distiller: its model, its weights' file,
    how it sees the batch, and its outputs (live or from the cache).

    - **Model**: built from the config it was trained with (``config=``;
      a distiller config gives its student) or a classifier config
      (``model=``); frozen (``requires_grad=False``), always in ``eval()``
      (also when the distiller is put in training mode), run under
      ``no_grad``; its outputs are detached.
    - **Weights**: ``ckpt`` is loaded strictly when the teacher is built;
      :attr:`file` (path and SHA-256) is the one record of where the
      weights came from, stored in distiller checkpoints instead of the
      weights (the teacher is left out of the distiller's ``state_dict``)
      and checked when one is loaded (:meth:`file_mismatch`).
      :meth:`release` frees the weights while a complete teacher-output
      cache serves the outputs; :meth:`restore` reloads them from the file.
    - **Inputs**: the student's normalised batch, mapped to the teacher's
      own normalisation (mean / std / channel order of its data
      preprocessor) and, with ``resize_input``, bilinearly resized (an
      upsampled view of the student's crop, not a larger crop).
    - **Outputs**: ``teacher(inputs)`` gives ``(N, C)`` logits;
      ``teacher(inputs, data_samples)`` reads the rows of a teacher-output
      cache (:attr:`cache`, attached by ``TeacherCacheHook``) for samples
      that carry a ``cache_index``, computing and storing the rows a lazily
      filled cache does not hold yet. :meth:`features` gives the backbone's
      outputs too (feature terms; never cached). A new kind of teacher
      overrides :meth:`compute_logits` (see
      ``docs/tutorials/add_a_distiller.md``).

    Built by a distiller from each ``model.teachers.<name>`` entry
    (``type`` defaults to ``'FrozenTeacher'``); ``name``,
    ``student_preprocessor`` and ``channels_last`` are filled in by it.

    Args:
        config (str, optional): The teacher's training config.
        model (dict, optional): A classifier config (instead of
            ``config``).
        ckpt (str, optional): The weights; None leaves them initial.
        data_preprocessor (dict, optional): With ``model=``: the
            preprocessing the teacher was trained with. Defaults to the
            model's own, else the student's.
        resize_input (int | tuple, optional): ``(H, W)`` the teacher sees.
            Defaults to None (the student's size).
        member (str, optional): With a ``LateFusionClassifier`` checkpoint
            as ``ckpt``: the member to load. Defaults to None.
        name (str): The teacher's name in ``model.teachers``.
        student_preprocessor (nn.Module, optional): The distiller's data
            preprocessor (what the batch is normalised with).
        channels_last (bool): Keep 4-D weights in ``channels_last``.
    """

    #: Arguments the distiller fills in (not config keys).
    FILLED_IN = ('name', 'student_preprocessor', 'channels_last')

    def __init__(self,
                 config: Optional[str] = None,
                 model: Optional[dict] = None,
                 ckpt: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 resize_input=None,
                 member: Optional[str] = None,
                 name: str = 'teacher',
                 student_preprocessor: Optional[nn.Module] = None,
                 channels_last: bool = False):
        super().__init__()
        self.name = name
        self.key = f'model.teachers.{name}'
        model_cfg, preprocessor = teacher_model_config(
            self.key, config, model, data_preprocessor)
        self.model = MODELS.build(model_cfg)
        check_head(self.model, f'{self.key}.model')
        self.member = member
        self.channels_last = channels_last
        #: path and SHA-256 of the weights' file (None: initial weights)
        self.ckpt: Optional[str] = None
        self.sha256: Optional[str] = None
        # {param name: (shape, dtype, device)} while released
        self._released: Optional[Dict[str, tuple]] = None
        #: the teacher-output cache serving :meth:`forward` (set by
        #: TeacherCacheHook), or None
        self.cache = None
        if ckpt:
            self.load(ckpt)
        self.model.requires_grad_(False)
        self.resize_input = _size(resize_input)
        norm = renormalisation(student_preprocessor, preprocessor, self.key)
        self.channel_order = None if norm is None else norm[0]
        self.register_buffer('norm_scale', None if norm is None else norm[1],
                             persistent=False)
        self.register_buffer('norm_shift', None if norm is None else norm[2],
                             persistent=False)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.register_state_dict_post_hook(_drop_file_weights)
        self.register_load_state_dict_pre_hook(_fill_file_weights)
        self.train(False)

    # ------------------------------------------------------------------
    # weights
    # ------------------------------------------------------------------
    @property
    def file(self) -> Optional[Dict[str, str]]:
        """``{'ckpt': path, 'sha256': hex}`` of the weights' file, or None
        when the teacher holds no file's weights."""
        if self.ckpt is None:
            return None
        return dict(ckpt=self.ckpt, sha256=self.sha256)

    @property
    def num_classes(self) -> Optional[int]:
        return head_num_classes(self.model)

    def load(self, path: str, key: Optional[str] = None) -> None:
        """Load the weights of ``path`` (strictly) and record the file.

        Args:
            path (str): A classifier, distiller (its student) or, with
                ``member``, late-fusion checkpoint.
            key (str, optional): How errors name the file's config key.
                Defaults to ``model.teachers.<name>``.
        """
        self.restore(reload=False)  # new weights come next
        load_classifier_weights(self.model, path, key or self.key,
                                self.member)
        self.ckpt, self.sha256 = path, file_sha256(path)

    def file_mismatch(self, saved: Dict[str, str]) -> Optional[str]:
        """Why a checkpoint trained with the teacher file ``saved``
        (``{'ckpt', 'sha256'}``) does not fit this teacher, or None."""
        if self.sha256 == saved['sha256']:
            return None
        return (f'The checkpoint was trained with {self.key} = '
                f'{saved["ckpt"]} (sha256 {saved["sha256"][:12]}…), but the '
                f'config loads {self.ckpt} (sha256 {self.sha256[:12]}…) into '
                'it: another teacher, or the file changed since. Point '
                f'{self.key}.ckpt at the file the run was trained with.')

    def weights_id(self) -> str:
        """Changes when the weights change: the file's SHA-256 (also while
        released), else a digest of the weights."""
        if self.sha256 is not None:
            return self.sha256
        digest = hashlib.sha1()
        for key, tensor in self.model.state_dict().items():
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(
                torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    @property
    def released(self) -> bool:
        """Whether the weights are freed (see :meth:`release`)."""
        return self._released is not None

    def release(self) -> int:
        """Free the weights of a teacher loaded from a file (a complete
        teacher-output cache gives all its outputs); returns the bytes
        freed (0 when it holds no file's weights or is released)."""
        if self.ckpt is None or self.released:
            return 0
        self._released = {
            key: (p.shape, p.dtype, p.device)
            for key, p in self.model.named_parameters()
        }
        freed = 0
        for p in self.model.parameters():
            freed += p.numel() * p.element_size()
            p.data = torch.empty(0, dtype=p.dtype, device=p.device)
        return freed

    def restore(self, reload: bool = True) -> bool:
        """Give a released teacher its weights back, reloaded from its file
        (``reload=False``: allocated only, for a caller that loads other
        weights). Returns whether it was released."""
        if not self.released:
            return False
        shapes, self._released = self._released, None
        for key, p in self.model.named_parameters():
            shape, dtype, device = shapes[key]
            layout = (torch.channels_last if self.channels_last
                      and len(shape) == 4 else torch.contiguous_format)
            p.data = torch.empty(shape, dtype=dtype, device=device,
                                 memory_format=layout)
        if reload:
            self.load(self.ckpt)
        return True

    # ------------------------------------------------------------------
    # outputs
    # ------------------------------------------------------------------
    def inputs_for(self, inputs: torch.Tensor) -> torch.Tensor:
        """The student's normalised batch as this teacher sees it."""
        if self.norm_scale is not None:
            if self.channel_order is not None:
                inputs = inputs[:, self.channel_order]
            inputs = inputs * self.norm_scale.to(inputs) + \
                self.norm_shift.to(inputs)
        size = self.resize_input
        if size is None or tuple(inputs.shape[-2:]) == size:
            return inputs
        return F.interpolate(
            inputs, size=size, mode='bilinear', align_corners=False)

    def compute_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, C)`` logits of the model on inputs already prepared by
        :meth:`inputs_for`: the one place a new kind of teacher changes
        how its outputs are computed."""
        return self.model(inputs, mode='tensor')

    @torch.no_grad()
    def forward(self, inputs: torch.Tensor,
                data_samples=None) -> torch.Tensor:
        """``(N, C)`` detached logits for the student's normalised batch,
        from the cache where it serves these samples (see the class)."""
        indices = None
        if self.cache is not None and data_samples:
            indices = [s.metainfo.get('cache_index') for s in data_samples]
        if indices is None or None in indices:
            return self.live_logits(inputs)
        missing = self.cache.missing(indices)
        if missing.any():  # first draw of these (sample, view)s
            rows = np.flatnonzero(missing)
            self.cache.store(
                np.asarray(indices)[rows],
                self.live_logits(
                    inputs[torch.from_numpy(rows).to(inputs.device)]))
        return self.cache.lookup(indices).to(inputs.device)

    def live_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher run now (never the cache)."""
        if self.released:
            raise RuntimeError(
                f'{self.key} is released (a complete teacher-output cache '
                'serves its outputs) but its live outputs were asked for; '
                'call restore() first.')
        with torch.no_grad():
            return self.compute_logits(self.inputs_for(inputs)).detach()

    @torch.no_grad()
    def features(self, inputs: torch.Tensor):
        """``(backbone outputs, logits)``, detached: every stage in the
        backbone's ``out_indices`` (feature terms) and the logits."""
        outputs, logits = features_and_logits(self.model,
                                              self.inputs_for(inputs))
        return tuple(f.detach() for f in outputs), logits.detach()

    def cache_description(self) -> dict:
        """What this teacher's outputs depend on, for the cache's key."""
        return dict(
            kind=f'{type(self).__module__}.{type(self).__qualname__}',
            model=type(self.model).__name__,
            weights=self.weights_id(),
            member=self.member,
            resize_input=None if self.resize_input is None else list(
                self.resize_input),
            channel_order=self.channel_order,
            norm=None if self.norm_scale is None else [
                self.norm_scale.flatten().tolist(),
                self.norm_shift.flatten().tolist()
            ])

    # ------------------------------------------------------------------
    # nn.Module
    # ------------------------------------------------------------------
    def train(self, mode: bool = True):
        """Always ``eval()``: a frozen teacher's BatchNorm statistics and
        dropout never change."""
        return super().train(False)

    def init_weights(self) -> None:
        """Initialise the model unless its weights come from a file."""
        if self.ckpt is None and hasattr(self.model, 'init_weights'):
            self.model.init_weights()


def build_teacher(cfg: dict, name: str, num_classes: Optional[int],
                  **filled_in) -> FrozenTeacher:
    """Build teacher ``name`` from its ``model.teachers.<name>`` entry.

    The entry's keys are checked against the teacher kind's arguments
    (``type``, default ``'FrozenTeacher'``) and its class count against the
    student's.

    Args:
        cfg (dict): The entry (``config`` / ``model``, ``ckpt``, ...).
        name (str): Its name.
        num_classes (int, optional): The student's class count.
        **filled_in: ``student_preprocessor``, ``channels_last``.
    """
    key = f'model.teachers.{name}'
    if not isinstance(cfg, dict):
        raise TypeError(f'{key} must be a dict, got {cfg!r}')
    cfg = dict(cfg)
    kind = cfg.pop('type', 'FrozenTeacher')
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    if not (isinstance(cls, type) and issubclass(cls, FrozenTeacher)):
        raise TypeError(f'{key}.type must name a FrozenTeacher kind (e.g. '
                        f"'FrozenTeacher', 'RouteTeacher'), got {kind!r}")
    allowed = teacher_config_keys(cls)
    unknown = set(cfg) - set(allowed)
    if unknown:
        hint = (' (`input_size` is now `resize_input`: a bilinear resize '
                "of the student's batch)" if 'input_size' in unknown else '')
        raise KeyError(f'{key} has unknown keys {sorted(unknown)}; allowed '
                       f'for {cls.__name__}: {", ".join(allowed)}{hint}')
    teacher = cls(**cfg, name=name, **filled_in)
    found = teacher.num_classes
    if None not in (num_classes, found) and num_classes != found:
        raise ValueError(
            f'{key}.model.head.num_classes is {found} but '
            f'model.student.head.num_classes is {num_classes}: a teacher '
            'must predict the same classes as the student.')
    return teacher


def teacher_config_keys(cls) -> Tuple[str, ...]:
    """The config keys a teacher kind takes: its ``__init__`` arguments
    along its class hierarchy, less those the distiller fills in."""
    keys = ['type']
    for klass in cls.__mro__:
        if not (isinstance(klass, type) and issubclass(klass,
                                                       FrozenTeacher)):
            continue
        for param in inspect.signature(klass.__init__).parameters.values():
            if param.kind in (param.POSITIONAL_OR_KEYWORD,
                              param.KEYWORD_ONLY) and param.name != 'self' \
                    and param.name not in cls.FILLED_IN \
                    and param.name not in keys:
                keys.append(param.name)
    return tuple(keys)
