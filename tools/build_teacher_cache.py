"""Build the teacher-output cache of a config ahead of training.

    python tools/build_teacher_cache.py CONFIG [--work-dir DIR] \
        [--cfg-options ...] [--launcher pytorch]

Runs what ``TeacherCacheHook`` would run before the first epoch: every
(sample, view) pair of the training set through the frozen teachers, into
``{work_dir}/teacher_cache/``. Training with the same config and work dir
then reuses the file. The config must set ``teacher_cache = dict(...)``.
"""
import argparse

from mmengine.config import DictAction

from medkd.apis import build_runner, close_distributed, set_work_dir
from medkd.apis.train import add_launcher_arguments, parse_launcher_args
from medkd.engine.hooks import TeacherCacheHook
from medkd.utils.config import load_config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_launcher_arguments(parser)
    args = parse_launcher_args(parser)
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not cfg.get('teacher_cache'):
        raise SystemExit(f'{args.config} does not set `teacher_cache = '
                         'dict(num_views=...)`')
    # every (sample, view) pair now, not as training draws them
    cfg.teacher_cache = dict(cfg.teacher_cache, build='all')
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.config, args.work_dir)
    runner = build_runner(cfg)
    (hook, ) = [h for h in runner.hooks if isinstance(h, TeacherCacheHook)]
    hook.before_train_epoch(runner)
    for name, cache in hook.caches.items():
        runner.logger.info(f'teacher cache of {name} ready: '
                           f'{cache.data_path}')
    close_distributed()


if __name__ == '__main__':
    main()
