import hashlib
import json
import os.path as osp
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dataset import pseudo_collate
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader

from medkd.datasets.replay import AugmentationReplayDataset
from medkd.engine.teacher_cache import (DTYPES, TeacherOutputCache,
                                       module_fingerprint)
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


def _barrier():
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()


@HOOKS.register_module()
class TeacherCacheHook(Hook):
    """Compute each frozen teacher's outputs once and serve them from a file.

    Each teacher component (:class:`~medkd.models.teachers.FrozenTeacher`)
    gets its own cache: before each training epoch the hook checks that the
    cache matches the teacher's current weights (so a route checkpoint
    switched in by :class:`TeacherSwitchHook` gets its own cache, and the
    other teachers keep theirs), the training pipeline, the dataset and the
    number of views; if not, it opens a new one, filled lazily as training
    draws (sample, view) pairs (``build='lazy'``) or built now: every
    (sample, view) pair of the :class:`AugmentationReplayDataset` goes
    through the data preprocessor (``training=False``) and the teachers,
    each rank filling its share of the rows (``build='all'``). The teacher
    then serves its outputs from its cache (``teacher.cache``). Enabled by
    ``teacher_cache = dict(num_views=...)`` in a config (see
    :class:`~medkd.engine.MedKDRunner`).

    Args:
        batch_size (int, optional): Batch size when building (``'all'``).
            Defaults to the training batch size.
        num_workers (int, optional): Loader workers when building
            (``'all'``). Defaults to the training loader's.
        build (str): ``'lazy'`` or ``'all'``. Defaults to ``'lazy'``.
        release_teachers (bool): Free a teacher's weights while its cache
            is complete. Defaults to True.
        dtype (str): ``'float16'`` (outputs within float16 precision) or
            ``'float32'`` (exact). Defaults to ``'float16'``.
    """

    priority = 'LOW'  # after hooks that change the teachers (NORMAL)

    BUILDS = ('lazy', 'all')

    def __init__(self, batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 build: str = 'lazy',
                 release_teachers: bool = True,
                 dtype: str = 'float16'):
        if build not in self.BUILDS:
            raise ValueError(f'teacher_cache.build must be one of '
                             f'{self.BUILDS}, got {build!r}')
        if not isinstance(release_teachers, bool):
            raise TypeError('teacher_cache.release_teachers must be True or '
                            f'False, got {release_teachers!r}')
        if dtype not in DTYPES:
            raise ValueError(f'teacher_cache.dtype must be one of '
                             f'{sorted(DTYPES)}, got {dtype!r}')
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.build_mode = build
        self.release = release_teachers
        self.dtype = dtype
        self.ema_noted = False
        #: {teacher name: its cache}
        self.caches: Dict[str, TeacherOutputCache] = {}

    def before_train_epoch(self, runner) -> None:
        model = unwrap_model(runner.model)
        dataset = runner.train_dataloader.dataset
        if not isinstance(dataset, AugmentationReplayDataset):
            raise TypeError('TeacherCacheHook needs the training dataset '
                            'wrapped in AugmentationReplayDataset (set '
                            '`teacher_cache = dict(num_views=...)` in the '
                            'config), got ' + type(dataset).__name__)
        stale = {}
        for name, teacher in model.teachers.items():
            cache = self.caches.get(name)
            # a released teacher is unchanged since its cache was complete
            # (any change of weights restores it first)
            key = (cache.key if teacher.released and cache is not None else
                   self.cache_key(model, name, dataset))
            if cache is None or cache.key != key:
                teacher.restore()
                stale[name] = key
        if stale:
            self.open_caches(runner, model, dataset, stale)
        self.release_if_complete(runner, model)

    def release_if_complete(self, runner, model) -> None:
        """Free the weights of each teacher whose cache holds every output,
        unless validation runs the teachers (``eval_teachers``, a gate of
        teacher outputs), an ``EMAHook`` averages every parameter of the
        model, or ``release_teachers=False``."""
        if not self.release or model.predict_needs_teachers():
            return
        if any(type(hook).__name__ == 'EMAHook' for hook in runner.hooks):
            if not self.ema_noted:
                self.ema_noted = True
                print_log('Teacher output cache: the teachers are kept in '
                          'memory because EMAHook averages all parameters, '
                          "the frozen teachers' too", logger='current')
            return
        freed = {name: model.teachers[name].release()
                 for name, cache in self.caches.items() if cache.complete}
        freed = {name: size for name, size in freed.items() if size}
        if freed:
            print_log(
                'Teacher output cache complete: released the weights of '
                + ', '.join(f'{name} ({size / 2**20:.1f} MB)'
                            for name, size in freed.items())
                + ' until a rebuild or the end of training '
                '(teacher_cache.release_teachers=False keeps them)',
                logger='current')

    def after_train(self, runner) -> None:
        # the trained model is whole again for whatever follows
        for teacher in unwrap_model(runner.model).teachers.values():
            teacher.restore()

    def open_caches(self, runner, model, dataset, keys: Dict[str,
                                                               str]) -> None:
        """Attach the cache of ``keys[name]`` to each teacher named: reused
        if valid, else filled lazily or built now (``build``)."""
        self.save_filled()  # what the previous teachers filled
        to_build = {}
        for name, key in keys.items():
            teacher = model.teachers[name]
            teacher.cache = None  # computed live until attached
            cache = TeacherOutputCache(
                osp.join(runner.work_dir, 'teacher_cache'), key,
                (dataset.num_items, self._num_outputs(model, name, dataset)),
                self.dtype)
            reason = cache.invalid_reason()
            _barrier()
            if reason is None:
                cache.log_reuse()
                cache.open_readonly()
            elif self.build_mode == 'lazy':
                rank, _ = get_dist_info()
                if rank == 0:
                    cache.create_lazy()
                _barrier()
                cache.open_lazy()
                print_log(
                    f'Teacher output cache of {name}: filling '
                    f'{cache.data_path} as training draws (sample, view) '
                    f'pairs ({int(cache.filled.sum())} of {dataset.num_items}'
                    ' filled): a pair is computed by the live teacher the '
                    'first time it is drawn and read back after, so the '
                    'cache never costs more teacher passes than a live '
                    'teacher', logger='current')
            else:
                print_log(f'Teacher output cache of {name}: building '
                          f'{cache.data_path} ({reason}): every one of '
                          f'{dataset.num_items} (sample, view) pairs',
                          logger='current')
                to_build[name] = cache
            self.caches[name] = cache
        if to_build:
            self.build(runner, model, dataset, to_build)
        for name in keys:
            model.teachers[name].cache = self.caches[name]

    def after_train_epoch(self, runner) -> None:
        self.save_filled()

    def save_filled(self) -> None:
        """Keep lazily filled caches' rows for a resumed or repeated run
        (rank 0 records its own rows; others' are recomputed)."""
        rank, _ = get_dist_info()
        for cache in self.caches.values():
            if cache.filled is not None:
                cache.flush_lazy(record=rank == 0)

    def cache_key(self, model, name: str,
                  dataset: AugmentationReplayDataset) -> str:
        """Digest of what teacher ``name``'s outputs depend on."""
        inner = dataset.dataset
        description = dict(
            teacher=model.teachers[name].cache_description(),
            distiller=type(model).__name__,
            position=list(model.teachers).index(name),  # e.g. a MIMO slot
            preprocessor=module_fingerprint(model.data_preprocessor),
            pipeline=repr(getattr(inner, 'pipeline', None)),
            data=hashlib.sha1(
                repr([inner.get_data_info(i) for i in range(len(inner))
                      ]).encode()).hexdigest(),
            num_views=dataset.num_views,
            seed=dataset.seed,
            dtype=self.dtype)
        return hashlib.sha1(
            json.dumps(description, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def _num_outputs(model, name: str, dataset) -> int:
        item = pseudo_collate([dataset[0]])
        with torch.no_grad():
            inputs = model.data_preprocessor(item, False)['inputs']
            logits = model.teachers[name](model.teacher_view(name, inputs))
        return logits.shape[1]

    def build(self, runner, model, dataset,
              caches: Dict[str, TeacherOutputCache]) -> None:
        """Fill every row of ``caches`` (one pass over the data for all of
        them), each rank its share."""
        rank, world_size = get_dist_info()
        if rank == 0:
            for cache in caches.values():
                cache.create()
        _barrier()
        loader_cfg = runner.cfg.train_dataloader
        indices = list(range(rank, dataset.num_items, world_size))
        loader = DataLoader(
            dataset,
            batch_size=self.batch_size or loader_cfg.get('batch_size', 32),
            sampler=indices,
            num_workers=loader_cfg.get('num_workers', 0)
            if self.num_workers is None else self.num_workers,
            collate_fn=pseudo_collate)
        progress = ProgressBar(len(indices)) if rank == 0 else None
        with torch.no_grad():
            for batch in loader:
                data = model.data_preprocessor(batch, False)
                rows = [s.metainfo['cache_index']
                        for s in data['data_samples']]
                for name, cache in caches.items():
                    cache.write(rows, model.teachers[name](
                        model.teacher_view(name, data['inputs'])))
                if progress is not None:
                    for _ in rows:
                        progress.update()
        for cache in caches.values():
            cache.flush()
        _barrier()
        if rank == 0:
            for cache in caches.values():
                cache.finalize()
        _barrier()
        for cache in caches.values():
            cache.open_readonly()
