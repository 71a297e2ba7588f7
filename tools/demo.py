"""Run a method end to end on medkd's synthetic cells and compare models.

    python tools/demo.py --method kd [--work-dir work_dirs/demo]

Generates the data on first use, trains every model the method needs (the
teacher first; a stage whose final checkpoint exists is reused unless
``--force``), evaluates all of them on the same test split and prints one
table: model, parameters, accuracy, weighted F1, AUC.
"""
import argparse
import os.path as osp

from mmengine.config import Config
from mmengine.logging import MMLogger
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis import build_runner

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'demo')

# method -> stages (name, config, {teacher name in the config: stage whose
# final checkpoint it loads}). Stages run in order.
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
])


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', choices=sorted(METHODS), default='kd')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic_cells',
                        help='where the synthetic data is generated')
    parser.add_argument('--epochs', type=int, help='override max_epochs')
    parser.add_argument('--force', action='store_true',
                        help='retrain stages that already finished')
    return parser.parse_args()


def final_checkpoint(work_dir: str):
    """The checkpoint a finished run saved last, or None."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def set_data_root(cfg: Config, data_root: str) -> None:
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root


def run_stage(config: str, work_dir: str, args, teacher_ckpts: dict):
    """Train (or reuse) one model and return its test metrics and params."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = work_dir
    set_data_root(cfg, args.data_root)
    if args.epochs:
        cfg.train_cfg.max_epochs = args.epochs
    for name, ckpt in teacher_ckpts.items():
        cfg.model.teachers[name].ckpt = ckpt
    done = final_checkpoint(work_dir)
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
    finished = {}
    rows = [['model', 'params', 'accuracy (%)', 'weighted F1 (%)', 'AUC']]
    for name, config, teachers in METHODS[args.method]:
        stage_dir = osp.join(args.work_dir, osp.splitext(config)[0])
        logger.info(f'=== {name}: {config} -> {stage_dir}')
        metrics, params, ckpt = run_stage(
            config, stage_dir, args,
            {t: finished[stage] for t, stage in teachers.items()})
        finished[name] = ckpt
        rows.append([
            name, f'{params:,}', f"{metrics['medical/accuracy']:.2f}",
            f"{metrics['medical/f1_weighted']:.2f}",
            f"{metrics['medical/auc']:.4f}"
        ])
    table = GithubFlavoredMarkdownTable(rows)
    table.title = f'medkd demo: {args.method} on SyntheticCells (test split)'
    logger.info('\n' + table.table)


if __name__ == '__main__':
    main()
