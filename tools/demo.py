"""Run a method end to end on medkd's synthetic cells and compare models.

    python tools/demo.py --method kd [--work-dir work_dirs/demo]

Generates the data on first use, trains every model the method needs (the
teacher first; a stage whose final checkpoint exists is reused unless
``--force``), evaluates all of them on the same test split and prints one
table: model, parameters, accuracy, weighted F1, AUC.
"""
import argparse
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.logging import MMLogger
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis import build_runner, final_checkpoint

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'demo')

# method -> stages (name, config, {teacher name in the config: stage whose
# final checkpoint it loads}[, options]). Stages run in order. Options:
# route=<stage> gives that stage's route/manifest.json (saved by
# TeacherRouteSaverHook) to model.route.manifest.
METHODS = dict(kd=[
    ('teacher (ResNet-18)', 'resnet18_teacher_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + vanilla KD', 'kd_resnet18_convnet_cells.py',
     {'resnet18': 'teacher (ResNet-18)'}),
], gated=[
    ('teacher 1 (ResNet-18)', 'resnet18_teacher_cells.py', {}),
    ('teacher 2 (wide convnet)', 'convnet_wide_teacher_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + vanilla KD from teacher 1', 'kd_resnet18_convnet_cells.py',
     {'resnet18': 'teacher 1 (ResNet-18)'}),
    ('student + gated multi-teacher KD', 'gated_resnet18_convnet_cells.py',
     {'resnet18': 'teacher 1 (ResNet-18)',
      'convnet_wide': 'teacher 2 (wide convnet)'}),
], checkpoint_sequence=[
    ('teacher (ResNet-18, route every 3 epochs)',
     'resnet18_route_teacher_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + vanilla KD from the final teacher',
     'kd_resnet18_convnet_cells.py',
     {'resnet18': 'teacher (ResNet-18, route every 3 epochs)'}),
    ('student + checkpoint-sequence KD',
     'checkpoint_sequence_resnet18_convnet_cells.py', {},
     dict(route='teacher (ResNet-18, route every 3 epochs)')),
])


# MultiModalMIMO (seed 002) on the 4-modality synthetic cells: the KD stages
# load their teachers from the late-fusion checkpoint.
METHODS['mm_mimo'] = [
    ('early fusion', 'mm_early_fusion_cells.py', {}),
    ('late fusion (4 convnets)', 'mm_late_fusion_cells.py', {}),
    ('early fusion + KD', 'mm_early_fusion_kd_cells.py',
     {'late_fusion': 'late fusion (4 convnets)'}),
    ('MM-MIMO', 'mm_mimo_cells.py', {}),
    ('MM-MIMO + KD', 'mm_mimo_kd_cells.py',
     {m: 'late fusion (4 convnets)'
      for m in ('fluorescent', 'bf_red', 'bf_green', 'bf_blue')}),
]


# TeacherAssistant (seed 004) on the 5 multi-label cell attributes:
# teacher -> assistant -> student, and the student alone / from the teacher.
METHODS['teacher_assistant'] = [
    ('teacher (ResNet-18)', 'ta_resnet18_teacher_cells.py', {}),
    ('assistant (mid convnet) from teacher', 'ta_convnet_assistant_cells.py',
     {'teacher': 'teacher (ResNet-18)'}),
    ('student alone (tiny convnet)', 'ta_convnet_student_cells.py', {}),
    ('student from teacher', 'ta_student_from_teacher_cells.py',
     {'teacher': 'teacher (ResNet-18)'}),
    ('student from assistant', 'ta_student_from_assistant_cells.py',
     {'assistant': 'assistant (mid convnet) from teacher'}),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', choices=sorted(METHODS), default='kd')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root',
                        help='where the synthetic data is generated '
                        "(default: each config's data_root)")
    parser.add_argument('--epochs', type=int, help='override max_epochs')
    parser.add_argument('--force', action='store_true',
                        help='retrain stages that already finished')
    return parser.parse_args()


def set_data_root(cfg: Config, data_root: str) -> None:
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root


def run_stage(config: str, work_dir: str, args, teacher_ckpts: dict,
              route_manifest: Optional[str] = None):
    """Train (or reuse) one model and return its test metrics and params."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = work_dir
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.epochs:
        cfg.train_cfg.max_epochs = args.epochs
    for name, ckpt in teacher_ckpts.items():
        cfg.model.teachers[name].ckpt = ckpt
    if route_manifest:
        cfg.model.route = dict(manifest=route_manifest)
    done = final_checkpoint(work_dir, cfg)
    if done and not args.force:
        cfg.load_from = done
        runner = build_runner(cfg)
    else:
        runner = build_runner(cfg)
        runner.train()
    metrics = runner.test()
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    student = getattr(model, 'student', model)
    params = sum(p.numel() for p in student.parameters())
    return metrics, params, final_checkpoint(work_dir)


def main():
    args = parse_args()
    logger = MMLogger.get_instance('medkd_demo')
    finished, stage_dirs = {}, {}
    rows = [['model', 'params', 'accuracy (%)', 'weighted F1 (%)', 'AUC']]
    for name, config, teachers, *options in METHODS[args.method]:
        # a stage without teachers is shared by all methods; one with
        # teachers belongs to its method (its teachers may differ)
        method_dir = [args.method] if teachers or options else []
        stage_dir = osp.join(args.work_dir, *method_dir,
                             osp.splitext(config)[0])
        logger.info(f'=== {name}: {config} -> {stage_dir}')
        route = options[0].get('route') if options else None
        metrics, params, ckpt = run_stage(
            config, stage_dir, args,
            {t: finished[stage] for t, stage in teachers.items()},
            route and osp.join(stage_dirs[route], 'route', 'manifest.json'))
        finished[name], stage_dirs[name] = ckpt, stage_dir
        # multi-label metrics report the mean of the per-label AUCs
        auc = metrics.get('medical/auc', metrics.get('medical/auc_mean'))
        rows.append([
            name, f'{params:,}', f"{metrics['medical/accuracy']:.2f}",
            f"{metrics['medical/f1_weighted']:.2f}",
            f'{auc:.4f}'
        ])
    table = GithubFlavoredMarkdownTable(rows)
    table.title = f'medkd demo: {args.method} on SyntheticCells (test split)'
    logger.info('\n' + table.table)


if __name__ == '__main__':
    main()
