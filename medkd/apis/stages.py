"""Multi-stage training: finished / interrupted stages and checkpoint chains.

A *stage* is one ordinary training config run in its own work directory. A
*chain config* lists stages; each later stage loads earlier stages' final
checkpoints as its frozen teachers (``model.teachers.<name>.ckpt``)::

    # configs/teacher_assistant/chexpert_chain.py
    work_dir = 'work_dirs/chexpert_chain'
    stages = [
        dict(name='teacher', config='teacher.py'),
        dict(name='assistant', config='assistant.py',
             teachers=dict(teacher='teacher')),
        dict(name='student', config='student.py',
             teachers=dict(assistant='assistant')),
    ]

``config`` paths are relative to the chain config; stage ``name`` trains in
``{work_dir}/{name}``. Optional per-stage ``cfg_options`` (a dict merged
into the stage config) override settings for the chain only.
"""
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config
from mmengine.dist import barrier
from mmengine.logging import MMLogger
from medkd.utils.config import load_config

from .train import build_runner

STAGE_KEYS = ('name', 'config', 'teachers', 'cfg_options')


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``{work_dir}/last_checkpoint`` points at, if it exists.

    Args:
        work_dir (str): A run's work directory.

    Returns:
        str | None: The checkpoint path, or None.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def final_checkpoint_name(cfg: Config) -> str:
    """File name of the checkpoint a run of ``cfg`` saves at its end, e.g.
    ``epoch_12.pth`` (``CheckpointHook``'s ``filename_tmpl`` filled with
    ``train_cfg.max_epochs``, or ``max_iters`` for iteration-based runs)."""
    train_cfg = cfg.train_cfg
    by_epoch = train_cfg.get('by_epoch', 'max_epochs' in train_cfg)
    hook = cfg.get('default_hooks', {}).get('checkpoint') or {}
    template = hook.get('filename_tmpl') or ('epoch_{}.pth'
                                             if by_epoch else 'iter_{}.pth')
    return template.format(
        train_cfg.max_epochs if by_epoch else train_cfg.max_iters)


def final_checkpoint(work_dir: str,
                     cfg: Optional[Config] = None) -> Optional[str]:
    """The final checkpoint of a finished run, or None.

    Args:
        work_dir (str): The run's work directory.
        cfg (Config, optional): The run's config. When given, the run counts
            as finished only if ``last_checkpoint`` points at the checkpoint
            of the last epoch (:func:`final_checkpoint_name`); otherwise any
            existing ``last_checkpoint`` target counts.

    Returns:
        str | None: The checkpoint path, or None.
    """
    path = latest_checkpoint(work_dir)
    if path is None or cfg is None:
        return path
    return path if osp.basename(path) == final_checkpoint_name(cfg) else None


def load_chain(config: str) -> Config:
    """Load and check a chain config (see the module docstring)."""
    chain = load_config(config)
    stages = chain.get('stages')
    if not stages:
        raise KeyError(f'{config} defines no `stages` list; a chain config '
                       'lists dict(name=..., config=..., teachers=...).')
    seen = []
    for i, stage in enumerate(stages):
        key = f'{config}: stages[{i}]'
        unknown = set(stage) - set(STAGE_KEYS)
        if unknown or not {'name', 'config'} <= set(stage):
            raise KeyError(f'{key} must have `name` and `config` (and '
                           f'optionally `teachers`, `cfg_options`), found '
                           f'{sorted(stage)}')
        if stage['name'] in seen:
            raise ValueError(f'{key}: stage name {stage["name"]!r} is used '
                             'twice')
        for teacher, source in (stage.get('teachers') or {}).items():
            if source not in seen:
                raise KeyError(
                    f'{key}.teachers.{teacher} is {source!r}, which is not '
                    f'an earlier stage (earlier: {seen})')
        seen.append(stage['name'])
    return chain


def stage_config(chain_path: str, stage: dict, work_dir: str,
                 teacher_ckpts: Dict[str, str],
                 cfg_options: Optional[dict] = None) -> Config:
    """The config of one stage, ready to train in ``{work_dir}/{name}``.

    Args:
        chain_path (str): The chain config (stage configs are relative to it).
        stage (dict): The stage entry.
        work_dir (str): The chain's work directory.
        teacher_ckpts (dict): ``{teacher name in the stage config: ckpt}``.
        cfg_options (dict, optional): Overrides for every stage (applied
            after the stage's own ``cfg_options``).
    """
    path = osp.join(osp.dirname(osp.abspath(chain_path)), stage['config'])
    cfg = load_config(path)
    for options in (stage.get('cfg_options'), cfg_options):
        if options:
            cfg.merge_from_dict(dict(options))
    cfg.work_dir = osp.join(work_dir, stage['name'])
    teachers = cfg.get('model', {}).get('teachers') or {}
    for name, ckpt in teacher_ckpts.items():
        if name not in teachers:
            raise KeyError(
                f'Stage {stage["name"]!r} passes a checkpoint to '
                f'model.teachers.{name}, but {path} has teachers '
                f'{sorted(teachers)}.')
        teachers[name].ckpt = ckpt
    return cfg


def run_chain(config: str,
              work_dir: Optional[str] = None,
              cfg_options: Optional[dict] = None,
              launcher: str = 'none') -> Dict[str, str]:
    """Train every stage of a chain config in order.

    A stage whose final checkpoint exists (:func:`final_checkpoint`) is
    skipped; one whose work directory has a checkpoint but not the final
    one resumes from it (``resume=True``); the others train from scratch.
    Each finished stage's final checkpoint becomes the ``ckpt`` of the
    teachers that later stages map to it.

    Args:
        config (str): The chain config.
        work_dir (str, optional): Overrides the chain's ``work_dir``
            (default ``work_dirs/<chain config name>``).
        cfg_options (dict, optional): Overrides applied to every stage.
        launcher (str): ``'pytorch'`` (or ``'slurm'``) when the chain runs in
            every process of a distributed job: each stage trains
            distributed, and all processes wait for a stage's checkpoints
            before the next one reads them. Defaults to ``'none'``.

    Returns:
        dict: ``{stage name: final checkpoint}``.
    """
    chain = load_chain(config)
    work_dir = work_dir or chain.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config))[0])
    logger = MMLogger.get_current_instance()
    finished: Dict[str, str] = {}
    for stage in chain.stages:
        name = stage['name']
        teachers = {
            teacher: finished[source]
            for teacher, source in (stage.get('teachers') or {}).items()
        }
        cfg = stage_config(config, stage, work_dir, teachers, cfg_options)
        cfg.launcher = launcher
        done = final_checkpoint(cfg.work_dir, cfg)
        if done:
            logger.info(f'Stage {name!r} already finished: {done}')
            finished[name] = done
            continue
        if latest_checkpoint(cfg.work_dir):
            cfg.resume, cfg.load_from = True, None
            logger.info(f'Stage {name!r} resumes from '
                        f'{latest_checkpoint(cfg.work_dir)}')
        else:
            logger.info(f'Stage {name!r} trains {stage["config"]} in '
                        f'{cfg.work_dir}')
        build_runner(cfg).train()
        barrier()  # rank 0 wrote the checkpoints the next stage reads
        done = final_checkpoint(cfg.work_dir, cfg)
        if done is None:
            raise RuntimeError(
                f'Stage {name!r} ended without its final checkpoint '
                f'{final_checkpoint_name(cfg)} in {cfg.work_dir}; is the '
                'CheckpointHook disabled or saving elsewhere?')
        finished[name] = done
    return finished
