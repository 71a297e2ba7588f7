import hashlib
import json
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.dataset import pseudo_collate
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader

from medkd.datasets.replay import AugmentationReplayDataset
from medkd.engine.teacher_cache import (TeacherOutputCache,
                                       module_fingerprint, tensors_digest)
from medkd.registry import HOOKS
from medkd.utils.checkpoint import unwrap_model


def _barrier():
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()


@HOOKS.register_module()
class TeacherCacheHook(Hook):
    """Compute the frozen teachers' outputs once and serve them from a file.

    Before each training epoch the hook checks that the cache matches the
    teachers' current weights (so a route checkpoint switched in by
    :class:`TeacherSwitchHook` gets its own cache), the training pipeline,
    the dataset and the number of views; if not, it builds the cache: every
    (sample, view) pair of the :class:`AugmentationReplayDataset` goes through
    the data preprocessor (``training=False``) and the teachers, each rank
    filling its share of the rows. The distiller then reads its teacher
    logits from the cache (``model.teacher_cache``) instead of running the
    teachers. Enabled by ``teacher_cache = dict(num_views=...)`` in a config
    (see :class:`~medkd.engine.MedKDRunner`).

    Args:
        batch_size (int, optional): Batch size when building. Defaults to
            the training batch size.
        num_workers (int, optional): Loader workers when building. Defaults
            to the training loader's.
    """

    priority = 'LOW'  # after hooks that change the teachers (NORMAL)

    BUILDS = ('lazy', 'all')

    def __init__(self, batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 build: str = 'lazy',
                 release_teachers: bool = True):
        if build not in self.BUILDS:
            raise ValueError(f'teacher_cache.build must be one of '
                             f'{self.BUILDS}, got {build!r}')
        if not isinstance(release_teachers, bool):
            raise TypeError('teacher_cache.release_teachers must be True or '
                            f'False, got {release_teachers!r}')
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.build_mode = build
        self.release = release_teachers
        self.ema_noted = False
        self.cache: Optional[TeacherOutputCache] = None

    def before_train_epoch(self, runner) -> None:
        model = unwrap_model(runner.model)
        dataset = runner.train_dataloader.dataset
        if not isinstance(dataset, AugmentationReplayDataset):
            raise TypeError('TeacherCacheHook needs the training dataset '
                            'wrapped in AugmentationReplayDataset (set '
                            '`teacher_cache = dict(num_views=...)` in the '
                            'config), got ' + type(dataset).__name__)
        # released teachers are unchanged since the cache of their weights
        # was complete (any change of weights restores them first)
        key = (self.cache.key if model.teachers_released and self.cache
               is not None else self.cache_key(model, dataset))
        if self.cache is None or self.cache.key != key:
            model.restore_teachers()
            self.open_cache(runner, model, dataset, key)
        self.release_if_complete(runner, model)

    def release_if_complete(self, runner, model) -> None:
        """Free the teachers' weights once every output of this cache is
        stored, unless validation runs them (``eval_teachers``, a gate of
        teacher outputs), an ``EMAHook`` averages every parameter of the
        model, or ``release_teachers=False``."""
        if not self.release or model.teachers_released or \
                model.predict_needs_teachers():
            return
        if any(type(hook).__name__ == 'EMAHook' for hook in runner.hooks):
            if not self.ema_noted:
                self.ema_noted = True
                print_log('Teacher output cache: the teachers are kept in '
                          'memory because EMAHook averages all parameters, '
                          "the frozen teachers' too", logger='current')
            return
        filled = self.cache.filled
        if filled is not None and not filled.all():
            return
        freed = model.release_teachers()
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
        unwrap_model(runner.model).restore_teachers()

    def open_cache(self, runner, model, dataset, key: str) -> None:
        """Attach the cache of ``key``: reused if valid, else filled lazily
        or built now (``build``)."""
        self.save_filled()  # what the previous teacher filled
        num_classes = self._num_outputs(model, dataset)
        cache = TeacherOutputCache(
            osp.join(runner.work_dir, 'teacher_cache'), key,
            (dataset.num_items, len(model.teachers), num_classes))
        model.teacher_cache = None  # build with live teachers
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
                f'Teacher output cache: filling {cache.data_path} as training '
                f'draws (sample, view) pairs ({int(cache.filled.sum())} of '
                f'{dataset.num_items} filled): a pair is computed by the live '
                'teachers the first time it is drawn and read back after, so '
                'the cache never costs more teacher passes than live '
                'teachers', logger='current')
        else:
            print_log(f'Teacher output cache: building {cache.data_path} '
                      f'({reason}): every one of {dataset.num_items} '
                      '(sample, view) pairs', logger='current')
            self.build(runner, model, dataset, cache)
            cache.open_readonly()
        self.cache = cache
        model.teacher_cache = self.cache

    def after_train_epoch(self, runner) -> None:
        self.save_filled()

    def save_filled(self) -> None:
        """Keep a lazily filled cache's rows for a resumed or repeated run
        (rank 0 records its own rows; others' are recomputed)."""
        if self.cache is not None and self.cache.filled is not None:
            rank, _ = get_dist_info()
            self.cache.flush_lazy(record=rank == 0)

    @staticmethod
    def cache_key(model, dataset: AugmentationReplayDataset) -> str:
        """Digest of what the teachers' outputs depend on."""
        inner = dataset.dataset
        description = dict(
            teachers={
                name: tensors_digest(teacher.state_dict())
                for name, teacher in model.teachers.items()
            },
            input_sizes={
                name: list(size) if size else None
                for name, size in model.teacher_input_sizes.items()
            },
            preprocessor=module_fingerprint(model.data_preprocessor),
            teacher_norms={
                name: None if norm is None else [
                    norm[0], norm[1].flatten().tolist(),
                    norm[2].flatten().tolist()
                ]
                for name, norm in getattr(model, 'teacher_norms', {}).items()
            },
            pipeline=repr(getattr(inner, 'pipeline', None)),
            data=hashlib.sha1(
                repr([inner.get_data_info(i) for i in range(len(inner))
                      ]).encode()).hexdigest(),
            num_views=dataset.num_views,
            seed=dataset.seed)
        return hashlib.sha1(
            json.dumps(description, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def _num_outputs(model, dataset) -> int:
        item = pseudo_collate([dataset[0]])
        with torch.no_grad():
            inputs = model.data_preprocessor(item, False)['inputs']
            logits = model.teacher_logits(inputs)
        return next(iter(logits.values())).shape[1]

    def build(self, runner, model, dataset, cache: TeacherOutputCache):
        rank, world_size = get_dist_info()
        if rank == 0:
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
                logits = model.teacher_logits(data['inputs'])
                rows = [s.metainfo['cache_index']
                        for s in data['data_samples']]
                cache.write(rows, torch.stack(list(logits.values()), dim=1))
                if progress is not None:
                    for _ in rows:
                        progress.update()
        cache.flush()
        _barrier()
        if rank == 0:
            cache.finalize()
        _barrier()
