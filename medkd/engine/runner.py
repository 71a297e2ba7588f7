import datetime
import os
import os.path as osp
import time

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from medkd.models.distillers import is_distiller
from medkd.registry import MODELS, RUNNERS
from medkd.utils.checkpoint import safe_checkpoint_loaders, unwrap_model


#: The key :class:`MedKDRunner` notes each loader config's split under.
SPLIT_KEY = '_medkd_split'


def adapt_dataloader_cfg(dataloader):
    """Make DataLoader settings fit the machine (in place, returns the cfg).

    Workers persist across epochs when there are any (``persistent_workers``
    is an error with ``num_workers=0``); pinned memory only with CUDA.
    """
    if not isinstance(dataloader, dict):
        return dataloader
    if dataloader.get('num_workers', 0) == 0:
        dataloader['persistent_workers'] = False
    else:
        dataloader.setdefault('persistent_workers', True)
    dataloader.setdefault('pin_memory', torch.cuda.is_available())
    return dataloader


@RUNNERS.register_module()
class MedKDRunner(Runner):
    """mmengine's Runner with medkd's environment fixes.

    - checkpoints stay loadable with ``weights_only=True``: a
      :class:`~medkd.engine.hooks.SafeCheckpointHook` is always registered;
    - distributed training without CUDA (``torchrun`` on CPUs): the ``gloo``
      process group is initialised here and DDP wraps the model with
      ``device_ids=None`` (mmengine would call ``torch.cuda.set_device``);
    - ``num_workers=0`` with ``persistent_workers=True`` is corrected;
    - checkpoints are written atomically and old ones deleted only after
      (``CheckpointHook`` becomes :class:`AtomicCheckpointHook`), training
      stops at the first non-finite loss term, and the data's class count
      is checked against the model before training, and a distiller's
      teachers are evaluated once on the validation set, and distiller
      checkpoints name their teachers' files (with SHA-256) instead of
      storing the frozen weights, checked when loaded (:attr:`always_hooks`).

    Selected with ``runner_type = 'MedKDRunner'`` (set in
    ``configs/_base_/default_runtime.py``); takes the same arguments as
    :class:`mmengine.runner.Runner`.
    """

    #: Hooks every medkd run gets (added unless the config has them).
    always_hooks = ('SafeCheckpointHook', 'NonFiniteLossHook',
                    'ClassCountCheckHook', 'TeacherValidationHook',
                    'TeacherFilesHook', 'PreemptionHook', 'CalibrationHook',
                    'TeacherSwitchHook')

    def __init__(self, *args, **kwargs):
        if isinstance(kwargs.get('cfg'), Config):
            # mmengine writes the config text five times a run (log, two
            # dumps, message hub, every checkpoint's meta), each through
            # yapf: 0.5 s a time for a distiller config. The text without
            # yapf is the same Python (one item a line) and loads back to
            # the same config.
            cfg = kwargs['cfg']
            kwargs['cfg'] = Config(cfg.to_dict(), filename=cfg.filename,
                                   format_python_code=False)
        launcher = kwargs.get('launcher', 'none')
        if launcher != 'none' and not torch.cuda.is_available():
            if not torch_dist.is_initialized():
                timeout = ((kwargs.get('env_cfg') or {}).get('dist_cfg')
                           or {}).get('timeout')
                options = {} if timeout is None else dict(
                    timeout=datetime.timedelta(seconds=float(timeout)))
                torch_dist.init_process_group(backend='gloo', **options)
            cfg = kwargs.get('cfg') or Config()
            wrapper = dict(cfg.get('model_wrapper_cfg') or {})
            wrapper.setdefault('type', 'MMDistributedDataParallel')
            wrapper.update(device_ids=None, broadcast_buffers=False)
            cfg.model_wrapper_cfg = wrapper
            kwargs['cfg'] = cfg
        if kwargs.get('work_dir'):
            wait_for_a_new_log_folder(kwargs['work_dir'])
        if kwargs.get('experiment_name') is None:
            kwargs['experiment_name'] = unique_experiment_name(
                kwargs.get('cfg'))
        if (kwargs.get('cfg') or {}).get('teacher_cache'):
            enable_teacher_cache(kwargs)
        train_cfg = kwargs.get('train_cfg')
        if isinstance(train_cfg, dict) and 'type' not in train_cfg and \
                train_cfg.get('by_epoch', 'max_epochs' in train_cfg):
            # resumes a preempted epoch where it stopped (PreemptionHook)
            loop = {k: v for k, v in train_cfg.items() if k != 'by_epoch'}
            kwargs['train_cfg'] = dict(loop,
                                       type='ResumableEpochBasedTrainLoop')
        checkpoint = (kwargs.get('default_hooks') or {}).get('checkpoint')
        if isinstance(checkpoint,
                      dict) and checkpoint.get('type') == 'CheckpointHook':
            checkpoint['type'] = 'AtomicCheckpointHook'
        for split in ('train', 'val', 'test'):
            loader = adapt_dataloader_cfg(kwargs.get(f'{split}_dataloader'))
            if isinstance(loader, dict):  # read by build_dataloader
                kwargs[f'{split}_dataloader'] = dict(loader,
                                                     **{SPLIT_KEY: split})
        custom_hooks = list(kwargs.get('custom_hooks') or [])
        present = {_hook_type(h) for h in custom_hooks}
        custom_hooks += [
            dict(type=name) for name in self.always_hooks
            if name not in present
        ]
        cfg = kwargs.get('cfg') or {}
        calibration = calibration_config(cfg, kwargs)
        for hook in custom_hooks:
            if isinstance(hook, dict) and _hook_type(hook) == \
                    'CalibrationHook':
                hook.setdefault('calibration', calibration)
        kwargs['custom_hooks'] = custom_hooks
        from medkd.datasets.preflight import image_check_options
        self.image_check = image_check_options(
            cfg.get('image_check'),
            getattr(cfg, 'filename', None) or 'the config')
        super().__init__(*args, **kwargs)

    def build_dataloader(self, dataloader, seed=None, diff_rank_seed=False):
        """As mmengine's, after the pre-flight image check of the dataset
        (config key ``image_check``, see :mod:`medkd.datasets.preflight`):
        a bad image stops the run here, before training, naming every bad
        file, or its sample is left out (``on_bad_image='skip'``). The
        split is the one ``__init__`` noted in the loader config
        (:data:`SPLIT_KEY`); mmengine's loops build every loader through
        this method of the runner."""
        split = 'evaluation'
        if isinstance(dataloader, dict) and SPLIT_KEY in dataloader:
            dataloader = dict(dataloader)
            split = dataloader.pop(SPLIT_KEY)
        if not isinstance(dataloader, dict) or not self.image_check[
                'enabled'] or not isinstance(dataloader.get('dataset'),
                                             dict):
            return Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        from mmengine.registry import DATASETS
        dataset = DATASETS.build(dataloader['dataset'])
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        self._check_images(dataset, split, dataloader.get('num_workers', 0))
        return Runner.build_dataloader(
            dict(dataloader, dataset=dataset), seed, diff_rank_seed)

    def _check_images(self, dataset, split: str, num_workers: int) -> None:
        from mmengine.dist import broadcast_object_list, get_dist_info

        from medkd.datasets.preflight import (check_dataset_images,
                                              find_bad_samples)
        model = unwrap_model(self.model)
        mean = getattr(getattr(model, 'data_preprocessor', None), 'mean',
                       None)
        channels = None if mean is None else int(mean.numel())
        options = self.image_check
        rank, world_size = get_dist_info()
        bad = [None]
        if rank == 0:  # one rank decodes, the others get its answer
            bad = [find_bad_samples(dataset, channels, options['img_size'],
                                    max(1, num_workers), options['cache'])]
        if world_size > 1:
            broadcast_object_list(bad)
        check_dataset_images(dataset, split, options, channels, bad=bad[0])

    #: Top-level config keys read by mmengine's Runner.from_cfg and medkd.
    KNOWN_CONFIG_KEYS = (
        'auto_scale_lr', 'custom_hooks', 'data_preprocessor', 'default_hooks',
        'default_scope', 'env_cfg', 'experiment_name', 'launcher',
        'load_from', 'log_level', 'log_processor', 'model', 'optim_wrapper',
        'param_scheduler', 'randomness', 'resume', 'test_cfg',
        'test_dataloader', 'test_evaluator', 'train_cfg', 'train_dataloader',
        'val_cfg', 'val_dataloader', 'val_evaluator', 'visualizer',
        'work_dir', 'runner_type', 'model_wrapper_cfg', 'vis_backends',
        'teacher_cache', 'compile', 'cfg', 'strategy', 'image_check',
        'calibration')

    @classmethod
    def from_cfg(cls, cfg):
        """As mmengine's, after warning about likely misspelt top-level
        keys (see :func:`misspelt_config_keys`)."""
        for key, known in misspelt_config_keys(cfg, cls.KNOWN_CONFIG_KEYS):
            MMLogger.get_current_instance().warning(
                f'Config key `{key}` is not read by the runner: did you mean '
                f'`{known}`? (As written it is ignored and `{known}` keeps '
                'its default.)')
        return super().from_cfg(cfg)

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module\.', '')]):
        """Load ``filename`` into the model **strictly** (``load_from``,
        ``--resume``, ``tools/test.py``).

        mmengine loads non-strictly: a checkpoint of another architecture,
        or a distiller checkpoint given to the student's own config, would
        score at chance with only "missing keys" warnings. Here any missing,
        unexpected or differently shaped key is an error naming the file;
        a distiller checkpoint given to a classifier is recognised and the
        error says how to extract the student. ``strict`` is ignored (always
        strict).
        """
        from medkd.engine.hooks import TeacherFileChangedError
        from medkd.utils.checkpoint import UnsafeCheckpointError
        try:
            with safe_checkpoint_loaders():
                return super().load_checkpoint(filename, map_location,
                                               strict=True,
                                               revise_keys=revise_keys)
        except (UnsafeCheckpointError, TeacherFileChangedError):
            raise
        except RuntimeError as err:
            raise RuntimeError(
                checkpoint_mismatch_message(filename, self.model, err)
            ) from None

    def train(self):
        try:
            with safe_checkpoint_loaders():
                return super().train()
        finally:
            self.release_loader_workers()
            # a run that failed never reached after_train: give the
            # process its signal handlers back all the same
            for hook in self.hooks:
                if hasattr(hook, 'restore_signal_handlers'):
                    hook.restore_signal_handlers()

    def val(self):
        try:
            with safe_checkpoint_loaders():
                return super().val()
        finally:
            self.release_loader_workers()

    def test(self):
        try:
            with safe_checkpoint_loaders():
                return super().test()
        finally:
            self.release_loader_workers()

    def release_loader_workers(self) -> None:
        """Stop the persistent DataLoader workers of this run now.

        Left to the garbage collector, each worker of a finished run is
        joined with a 5 s timeout whenever a later run in the same process
        (``tools/demo.py``, ``tools/train_chain.py``, cross-validation)
        happens to trigger a collection: about 30 s of idle waiting per run.
        """
        for loop in (self._train_loop, self._val_loop, self._test_loop):
            loader = getattr(loop, 'dataloader', None)
            iterator = getattr(loader, '_iterator', None)
            if iterator is not None and hasattr(iterator,
                                                '_shutdown_workers'):
                iterator._shutdown_workers()
                loader._iterator = None

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        """Save atomically: write ``.<filename>.part``, then rename it.

        A job killed while writing leaves only the ``.part`` file, which
        nothing reads; ``last_checkpoint`` still names the previous file.
        """
        partial = f'.{filename}.part'
        super().save_checkpoint(out_dir, partial, *args, **kwargs)
        os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))


def misspelt_config_keys(cfg, known, cutoff: float = 0.88):
    """``[(key, known key)]`` for top-level config keys that nothing
    reads but that are one typo away from a key the runner reads
    (``optim_wraper`` -> ``optim_wrapper``; the base config's
    ``optim_wrapper`` then silently stays). Other unknown keys are a
    config's own variables (``data_root``, ``teacher_ckpt``) and are left
    alone."""
    import difflib
    present = set(cfg.keys())
    found = []
    for key in sorted(present - set(known)):
        if key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=cutoff)
        if close:
            found.append((key, close[0]))
    return found


def checkpoint_mismatch_message(filename: str, model, err) -> str:
    """Why ``filename`` does not load into ``model``, and what to do."""
    from medkd.utils.checkpoint import safe_load
    model = unwrap_model(model)
    distiller = is_distiller(model)
    try:
        state = safe_load(filename, map_location='cpu')
        keys = list(state.get('state_dict', state))
    except Exception:  # noqa: BLE001 (only used for the hint)
        keys = []
    keys = [k[len('module.'):] if k.startswith('module.') else k
            for k in keys]
    hint = ''
    if not distiller and any(k.startswith('student.') for k in keys):
        hint = (
            '\nIt is a distiller checkpoint (keys student.*, teachers.*) and '
            "the config's model is a plain classifier. Extract the student "
            f'first:\n  python tools/model_converters/extract_student.py '
            f'{filename} student.pth\nand give student.pth instead (or test '
            "with the distiller's config).")
    elif distiller and keys and not any(
            k.startswith('student.') for k in keys):
        hint = ('\nIt is a classifier checkpoint (no student.* keys) and the '
                "config's model is a distiller: give it as a teacher's "
                "`ckpt`, or test it with the classifier's own config.")
    return (f'The checkpoint {filename} does not fit the model of the '
            f'config ({type(model).__name__}); medkd loads checkpoints '
            f'strictly:\n{err}{hint}')


def wait_for_a_new_log_folder(work_dir: str, limit_s: float = 10.0) -> None:
    """Wait until ``work_dir/<timestamp>`` names no folder yet.

    mmengine's log folder is the start time to the second: a second run of
    the same work dir started within the same second (a resumed chain stage
    or fold, a retry) would write its log and scalars into the first run's
    folder. Waiting (at most into the next second) gives each run its own.
    """
    deadline = time.time() + limit_s
    while osp.isdir(osp.join(work_dir, time.strftime('%Y%m%d_%H%M%S'))) \
            and time.time() < deadline:
        time.sleep(0.05)


def unique_experiment_name(cfg) -> str:
    """The config's name, with a counter if a run of it started this second.

    mmengine appends the timestamp (to the second) and keys its logger,
    visualizer, message hub and default scope by the result; two runs of one
    config started within the same second (cross-validation folds, chain
    stages) would otherwise share them, and the second run would log into
    the first one's folder.
    """
    filename = getattr(cfg, 'filename', None)
    base = osp.splitext(osp.basename(filename))[0] if filename else 'run'
    stamp = time.strftime('%Y%m%d_%H%M%S')
    name, count = base, 1
    while MMLogger.check_instance_created(f'{name}_{stamp}'):
        count += 1
        name = f'{base}_{count}'
    return name


def calibration_config(cfg, kwargs: dict):
    """The config's ``calibration`` (temperature scaling, see
    :class:`~medkd.engine.hooks.CalibrationHook`), checked; it needs a val
    split to be fitted on."""
    from medkd.models.calibration import calibration_options
    source = getattr(cfg, 'filename', None) or 'the config'
    options = calibration_options(cfg.get('calibration'), source)
    if options and kwargs.get('val_dataloader') is None:
        raise ValueError(
            f'`calibration` in {source} fits its temperature on the val '
            'split, but the config has no val_dataloader (and val_cfg / '
            'val_evaluator): add them, or remove `calibration`.')
    return options


def enable_teacher_cache(kwargs: dict) -> None:
    """Apply ``teacher_cache = dict(num_views=V, seed=0, batch_size=None,
    num_workers=None, build='lazy', release_teachers=True, dtype='float16')``
    (``build='all'``: every view before training; ``release_teachers``: free
    a teacher's weights while its cache is complete; ``dtype='float32'``:
    exact outputs, twice the file) from the config to the runner's
    arguments: wrap the
    training dataset in ``AugmentationReplayDataset``, sample with
    ``ReplaySampler`` and add a ``TeacherCacheHook``."""
    options = dict(kwargs['cfg'].teacher_cache)
    loader = kwargs.get('train_dataloader')
    model = kwargs.get('model')
    where = 'config key `teacher_cache`'
    if not isinstance(loader, dict) or not isinstance(model, dict):
        raise TypeError(f'{where} needs train_dataloader and model configs')
    allowed = ('num_views', 'seed', 'batch_size', 'num_workers', 'build',
               'release_teachers', 'dtype')
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise KeyError(f'{where} has unknown keys {unknown}; allowed: '
                       f'{", ".join(allowed)}')
    build = options.get('build', 'lazy')
    ignored = [k for k in ('batch_size', 'num_workers')
               if options.get(k) is not None]
    if build == 'lazy' and ignored:
        # the lazy cache is filled inside the training batches, by the
        # training loader: a build loader's settings would mean nothing
        raise ValueError(
            f'{where}: {", ".join(f"{k}={options[k]!r}" for k in ignored)} '
            "set the loader that builds the cache before training (build="
            "'all'), but build is 'lazy' (the default), where the cache is "
            'filled by the training batches themselves. Remove '
            f'{" / ".join(ignored)}, or set build=\'all\'.')
    if not is_distiller(model):
        raise ValueError(f'{where} is set but model ({model.get("type")}) '
                         'is not a distiller: it has no frozen teachers to '
                         'cache')
    model_cls = MODELS.get(model.get('type', ''))
    if not model_cls.supports_teacher_cache:
        raise ValueError(
            f'{where} is set but {model["type"]} computes its teachers\' '
            'outputs (and features) live and cannot read them from a cache; '
            'remove `teacher_cache`.')
    if model.get('feature_pairs'):
        raise ValueError(
            f'{where} is set but model.feature_pairs needs the teachers\' '
            'feature maps, which are not cached; remove one of them.')
    preprocessor = model.get('data_preprocessor') or kwargs['cfg'].get(
        'data_preprocessor') or {}
    student_augments = ((model.get('student') or {}).get('train_cfg')
                        or {}).get('augments')
    if preprocessor.get('batch_augments') or student_augments:
        raise ValueError(f'{where} cannot be combined with batch augments '
                         '(Mixup / CutMix in data_preprocessor or '
                         'model.student.train_cfg.augments): the mixed '
                         'images would not match the cached outputs')
    sampler = dict(loader.get('sampler') or dict(type='DefaultSampler'))
    if sampler.get('type') not in ('DefaultSampler', 'ReplaySampler'):
        raise ValueError(f'{where} needs train_dataloader.sampler to be '
                         f'DefaultSampler, found {sampler.get("type")}')
    sampler['type'] = 'ReplaySampler'
    loader['sampler'] = sampler
    loader['dataset'] = dict(
        type='AugmentationReplayDataset',
        dataset=loader['dataset'],
        num_views=options.get('num_views', 4),
        seed=options.get('seed', 0))
    hooks = list(kwargs.get('custom_hooks') or [])
    hooks.append(
        dict(
            type='TeacherCacheHook',
            batch_size=options.get('batch_size'),
            num_workers=options.get('num_workers'),
            build=options.get('build', 'lazy'),
            release_teachers=options.get('release_teachers', True),
            dtype=options.get('dtype', 'float16')))
    kwargs['custom_hooks'] = hooks


def _hook_type(hook):
    if isinstance(hook, dict):
        return str(hook.get('type', '')).split('.')[-1]
    return type(hook).__name__
