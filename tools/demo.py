"""Run a method end to end on medkd's synthetic cells and compare models.

    python tools/demo.py --method kd [--seeds 3] [--work-dir work_dirs/demo] \
        [--report] [--cfg-options k=v ...]

Generates the data on first use, trains every model the method needs (the
teachers first, once; with ``--seeds N`` every other stage with seeds
0..N-1; a run whose final checkpoint and metrics exist is reused unless
``--force`` or its config or teacher checkpoints changed, also by another
method with the same stage), evaluates each final checkpoint on the val and
test splits and prints one table: model, parameters, val accuracy, test accuracy,
weighted F1, AUC, ECE of the raw scores and ECE after temperature scaling
fitted on val (mean ± std over the seeds). ``--report`` also writes
the HTML report of ``tools/analysis_tools/report.py`` for the stages (seed
0 of each).
"""
import argparse
import os
import os.path as osp
import time
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis import metric_cell, run_seed, seed_work_dir
from medkd.apis.records import write_record
from medkd.apis.seeds import RESULTS_FILE
from medkd.registry import MODELS
from medkd.utils import register_all_modules
from medkd.utils.config import load_config

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'demo')

# method -> stages (name, config, {teacher name in the config: stage whose
# final checkpoint it loads}[, options]). Stages run in order. Options:
# route=<stage> gives that stage's route/manifest.json (saved by
# TeacherRouteSaverHook) to model.route.manifest.
GATED_TEACHERS = {'resnet18': 'teacher 1 (ResNet-18)',
                  'convnet_wide': 'teacher 2 (wide convnet)'}
METHODS = dict(kd=[
    ('teacher (wide convnet)', 'convnet_wide_teacher_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + vanilla KD (Hinton, T=2)', 'kd_convnet_wide_convnet_cells.py',
     {'convnet_wide': 'teacher (wide convnet)'}),
    ('student + DIST KD (recommended)', 'dist_convnet_wide_convnet_cells.py',
     {'convnet_wide': 'teacher (wide convnet)'}),
], gated=[
    ('teacher 1 (ResNet-18)', 'resnet18_teacher_cells.py', {}),
    ('teacher 2 (wide convnet)', 'convnet_wide_teacher_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + DIST KD from teacher 1', 'dist_resnet18_convnet_cells.py',
     {'resnet18': 'teacher 1 (ResNet-18)'}),
    ('student + DIST KD from teacher 2', 'dist_convnet_wide_convnet_cells.py',
     {'convnet_wide': 'teacher 2 (wide convnet)'}),
    ("student + gated KD, the paper's gate",
     'gated_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + gated KD, CA-MKD weights (recommended)',
     'gated_camkd_mix_resnet18_convnet_cells.py', GATED_TEACHERS),
], checkpoint_sequence=[
    ('teacher (wide convnet, route every 5 epochs)',
     'convnet_wide_route_teacher_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + DIST KD from the final teacher',
     'dist_convnet_wide_convnet_cells.py',
     {'convnet_wide': 'teacher (wide convnet, route every 5 epochs)'}),
    ('student + checkpoint-sequence DIST KD',
     'checkpoint_sequence_convnet_wide_convnet_cells.py', {},
     dict(route='teacher (wide convnet, route every 5 epochs)')),
])


# The gated demo's other multi-teacher forms (docs/distillation_losses.md),
# a separate demo so that each stays within a newcomer's 10 minutes; its
# teachers are the gated demo's (trained once, shared), its rows compare
# with that demo's table.
METHODS['gated_variants'] = [
    *METHODS['gated'][:2],
    ('student + CA-MKD logit term (CAMKDGate, per-teacher losses / K)',
     'gated_camkd_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + CA-MKD weights, per-teacher losses',
     'gated_camkd_sum_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + the best right teacher per sample (BestTeacherGate)',
     'gated_best_teacher_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + gated KD, gate trained by gate CE only',
     'gated_gate_ce_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + mean of the teachers (MeanGate, AVER-MKD)',
     'gated_mean_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + mean of the per-teacher losses (MeanGate)',
     'gated_mean_losses_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + gated KD, per-teacher losses',
     'gated_losses_resnet18_convnet_cells.py', GATED_TEACHERS),
    ('student + gated KD, gate trained by KD and gate CE',
     'gated_gate_ce_kd_resnet18_convnet_cells.py', GATED_TEACHERS),
]

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
    ('MM-MIMO + DIST KD', 'mm_mimo_dist_kd_cells.py',
     {m: 'late fusion (4 convnets)'
      for m in ('fluorescent', 'bf_red', 'bf_green', 'bf_blue')}),
]


# The gated method's premise, on data built for it: two class-expert
# teachers (each trained with the labels of one pair of classes swapped), so
# that a per-sample weighting has to pick the right expert for each cell.
PREMISE_TEACHERS = {'swap23': 'expert teacher A (eosinophil/monocyte swapped)',
                    'swap01': 'expert teacher B (neutrophil/lymphocyte swapped)'}
METHODS['gated_premise'] = [
    (PREMISE_TEACHERS['swap23'], 'premise_teacher_swap23_cells.py', {}),
    (PREMISE_TEACHERS['swap01'], 'premise_teacher_swap01_cells.py', {}),
    ('student alone (tiny convnet)', 'convnet_student_cells.py', {}),
    ('student + DIST KD from teacher A', 'premise_dist_from_swap23_cells.py',
     {'convnet_wide': PREMISE_TEACHERS['swap23']}),
    ('student + DIST KD from teacher B', 'premise_dist_from_swap01_cells.py',
     {'convnet_wide': PREMISE_TEACHERS['swap01']}),
    ("student + gated KD, the paper's gate",
     'premise_gated_cells.py', PREMISE_TEACHERS),
    ('student + gated KD, CA-MKD weights (recommended)',
     'premise_gated_camkd_mix_cells.py', PREMISE_TEACHERS),
]
# The premise demo's other forms (as gated_variants for the gated demo).
METHODS['gated_premise_variants'] = [
    *METHODS['gated_premise'][:2],
    ('student + CA-MKD logit term (CAMKDGate, per-teacher losses / K)',
     'premise_gated_camkd_cells.py', PREMISE_TEACHERS),
    ('student + CA-MKD weights, per-teacher losses',
     'premise_gated_camkd_sum_cells.py', PREMISE_TEACHERS),
    ('student + the best right teacher per sample (BestTeacherGate)',
     'premise_gated_best_teacher_cells.py', PREMISE_TEACHERS),
    ('student + gated KD, gate trained by gate CE only',
     'premise_gated_gate_ce_cells.py', PREMISE_TEACHERS),
    ('student + mean of the teachers (MeanGate)',
     'premise_gated_mean_cells.py', PREMISE_TEACHERS),
    ('student + gated KD, per-teacher losses',
     'premise_gated_losses_cells.py', PREMISE_TEACHERS),
    ('student + gated KD, gate trained by KD and gate CE',
     'premise_gated_gate_ce_kd_cells.py', PREMISE_TEACHERS),
]


SYNTHETIC_KEYS = ('num_classes', 'num_per_class', 'image_size', 'seed')


def prepare_premise_teacher(cfg: Config) -> None:
    """Write the label-swapped training list of a premise teacher.

    A premise teacher config trains on an mmpretrain ``CustomDataset`` list
    (``<path> <label>`` lines, ``ann_file`` below ``data_root``) of the
    demo's synthetic cells with the labels of ``premise_swap`` exchanged.
    The list is written for the synthetic tree its val split reads (the
    demo's ``--data-root`` and ``--cfg-options`` included; synthetic
    parameters given to the list dataset move to that tree)."""
    import csv

    from medkd.datasets.synthetic import (generate_synthetic_cells,
                                          synthetic_tree_dir)
    train = cfg.train_dataloader.dataset
    val = cfg.val_dataloader.dataset
    params = {k: val[k] for k in SYNTHETIC_KEYS if k in val}
    for key in SYNTHETIC_KEYS:
        train.pop(key, None)
    tree = synthetic_tree_dir(val.data_root, **params)
    generate_synthetic_cells(tree, **params)
    train.data_root = val.data_root
    with open(osp.join(tree, 'train.csv')) as f:
        rows = list(csv.DictReader(f))
    a, b = cfg.premise_swap
    swap = {a: b, b: a}
    path = osp.join(train.data_root, train.ann_file)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(f"{osp.basename(tree)}/{row['brightfield']} "
                     f"{swap.get(int(row['label']), int(row['label']))}\n"
                     for row in rows)


# The checkpoint-sequence premise: the route as a curriculum should help
# most where the student is far smaller than the teacher. Students of
# channels (2, 4, 8) and (4, 8, 16) alone, from the final teacher and along
# the route (the demo's (8, 16, 32) ones are the checkpoint_sequence demo).
CS_TEACHER = 'teacher (wide convnet, route every 5 epochs)'
METHODS['checkpoint_sequence_gap'] = [METHODS['checkpoint_sequence'][0]] + [
    stage for width in (2, 4) for stage in (
        (f'student w{width} alone', f'cs_gap/student_w{width}_alone.py', {}),
        (f'student w{width} + DIST KD from the final teacher',
         f'cs_gap/student_w{width}_from_final.py',
         {'convnet_wide': CS_TEACHER}),
        (f'student w{width} + checkpoint-sequence DIST KD',
         f'cs_gap/student_w{width}_route.py', {}, dict(route=CS_TEACHER)))
]

# The gated recipes re-pointed at other data, as a user would: 8-class
# synthetic cells (another seed) with their own two teachers.
TRANSFER_TEACHERS = {'resnet18': 'teacher 1 (ResNet-18, 8 classes)',
                     'convnet_wide': 'teacher 2 (wide convnet, 8 classes)'}
METHODS['gated_transfer'] = [
    (TRANSFER_TEACHERS['resnet18'], 'cells8/resnet18_teacher.py', {}),
    (TRANSFER_TEACHERS['convnet_wide'], 'cells8/convnet_wide_teacher.py', {}),
    ('student alone (tiny convnet)', 'cells8/convnet_student.py', {}),
    ('student + DIST KD from teacher 1', 'cells8/dist_resnet18_convnet.py',
     {'resnet18': TRANSFER_TEACHERS['resnet18']}),
    ('student + DIST KD from teacher 2',
     'cells8/dist_convnet_wide_convnet.py',
     {'convnet_wide': TRANSFER_TEACHERS['convnet_wide']}),
    ("student + gated KD, the paper's gate",
     'cells8/gated_resnet18_convnet.py', TRANSFER_TEACHERS),
    ('student + gated KD, CA-MKD weights (recommended)',
     'cells8/gated_camkd_mix_resnet18_convnet.py', TRANSFER_TEACHERS),
    ('student + CA-MKD weights, per-teacher losses',
     'cells8/gated_camkd_sum_resnet18_convnet.py', TRANSFER_TEACHERS),
    ('student + the best right teacher per sample (BestTeacherGate)',
     'cells8/gated_best_teacher_resnet18_convnet.py', TRANSFER_TEACHERS),
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
    ('student from teacher, multi-label DIST + features',
     'ta_student_mldist_from_teacher_cells.py',
     {'teacher': 'teacher (ResNet-18)'}),
    ('student from teacher, multi-label DIST (logits only)',
     'ta_student_mldist_logits_from_teacher_cells.py',
     {'teacher': 'teacher (ResNet-18)'}),
]

# The teacher-assistant premise: a capacity-gap sweep. Students of channels
# (2, 4, 8), (4, 8, 16) and the demo's (8, 16, 32) alone, from the teacher
# and from the assistant (multi-label DIST on the logits for both): the
# assistant should help more as the gap to the teacher grows.
TA_UPPER = {'teacher': 'teacher (ResNet-18)'}
TA_ASSISTANT = {'assistant': 'assistant (mid convnet) from teacher'}


def gap_stages(width: int, alone: str, from_teacher: str) -> list:
    """The sweep's three stages of the students of width ``width``."""
    return [(f'student w{width} alone', alone, {}),
            (f'student w{width} from teacher', from_teacher, TA_UPPER),
            (f'student w{width} from assistant',
             f'ta_gap/student_w{width}_from_assistant.py', TA_ASSISTANT)]


METHODS['teacher_assistant_gap'] = [
    *METHODS['teacher_assistant'][:2],
    *gap_stages(2, 'ta_gap/student_w2_alone.py',
                'ta_gap/student_w2_from_teacher.py'),
    *gap_stages(4, 'ta_gap/student_w4_alone.py',
                'ta_gap/student_w4_from_teacher.py'),
    *gap_stages(8, 'ta_convnet_student_cells.py',
                'ta_student_mldist_logits_from_teacher_cells.py'),
]

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', choices=sorted(METHODS), default='kd')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root',
                        help='where the synthetic data is generated '
                        "(default: each config's data_root)")
    parser.add_argument('--epochs', type=int, help='override max_epochs')
    parser.add_argument('--seeds', type=int, default=1,
                        help='train every student stage with seeds 0..N-1 '
                        '(teachers once) and report mean ± std (default 1)')
    parser.add_argument('--force', action='store_true',
                        help='retrain stages that already finished')
    parser.add_argument('--report', action='store_true',
                        help='also write an HTML report of the stages to '
                        'WORK_DIR/<method>_report/index.html')
    parser.add_argument('--json',
                        help='also write the table\'s record (every run\'s '
                        'numbers, the command, the commit and package '
                        'versions) here, e.g. docs/results/kd.json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every stage config')
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f'--seeds must be >= 1, got {args.seeds}')
    return args


def set_data_root(cfg: Config, data_root: str) -> None:
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root


def stage_config(config: str, args, teacher_ckpts: dict,
                 route_manifest: Optional[str] = None) -> Config:
    """A stage's config with the demo's overrides and its teachers."""
    cfg = load_config(osp.join(CONFIG_DIR, config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.epochs:
        cfg.train_cfg.max_epochs = args.epochs
    if cfg.get('premise_swap'):
        prepare_premise_teacher(cfg)
    for name, ckpt in teacher_ckpts.items():
        cfg.model.teachers[name].ckpt = ckpt
    if route_manifest:  # keep the config's other route settings (interval)
        cfg.model.route = dict(cfg.model.get('route') or {},
                               manifest=route_manifest)
    return cfg


def student_params(cfg: Config) -> int:
    """Parameters of the model a stage deploys (a distiller's student)."""
    model_cfg = cfg.model.get('student', cfg.model)
    return sum(p.numel() for p in MODELS.build(model_cfg).parameters())


def teacher_stages(stages) -> set:
    """Names of the stages other stages distil from (trained once)."""
    used = set()
    for _, _, teachers, *options in stages:
        used |= set(teachers.values())
        used |= {o['route'] for o in options if o.get('route')}
    return used


def stage_key(stages, stage) -> tuple:
    """What a stage trains: its config and, recursively, the stages its
    teachers (and route) come from, whatever the stages are called."""
    name, config, teachers, *options = stage
    by_name = {s[0]: s for s in stages}
    return (config,
            tuple(sorted((t, stage_key(stages, by_name[s]))
                         for t, s in teachers.items())),
            tuple(sorted((k, stage_key(stages, by_name[v]))
                         for o in options for k, v in o.items())))


def stage_owner(method: str, stage) -> Optional[str]:
    """The first method (in :data:`METHODS` order) with the same stage, in
    whose folder the stage trains, so that e.g. ``--method gated`` reuses
    the DIST student ``--method kd`` trained from the same teacher. None
    for a stage without teachers (shared by all methods)."""
    if not stage[2] and not stage[3:]:
        return None
    key = stage_key(METHODS[method], stage)
    return next(other for other, stages in METHODS.items()
                if any(stage_key(stages, s) == key for s in stages))


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    logger = MMLogger.get_instance('medkd_demo')
    stages = METHODS[args.method]
    once = teacher_stages(stages)
    finished, stage_dirs, run_dirs, units = {}, {}, [], set()
    record = []
    rows = [['model', 'params', 'val accuracy (%)', 'accuracy (%)',
             'weighted F1 (%)', 'AUC', 'ECE raw (%)', 'ECE (%)']]
    start = time.time()
    for index, (name, config, teachers, *options) in enumerate(stages, 1):
        # a stage without teachers is shared by all methods; one with
        # teachers lives in the folder of the first method that has it, so
        # other methods reuse it when its config and teachers are the same
        # (run_seed retrains a run whose config or teacher files changed)
        owner = stage_owner(args.method, stages[index - 1])
        stage_dir = osp.join(args.work_dir, *([owner] if owner else []),
                             osp.splitext(config)[0])
        logger.info(f'=== stage {index} of {len(stages)} ({elapsed(start)} '
                    f'so far): {name}: {config} -> {stage_dir}')
        route = options[0].get('route') if options else None
        cfg = stage_config(
            config, args,
            {t: finished[stage] for t, stage in teachers.items()},
            route and osp.join(stage_dirs[route], 'route', 'manifest.json'))
        if name in once or args.seeds == 1:
            seeds = [(cfg.randomness.seed, stage_dir)]
        else:
            seeds = [(s, seed_work_dir(stage_dir, '', s))
                     for s in range(args.seeds)]
        runs = []
        for seed, work_dir in seeds:
            run_start = time.time()
            runs.append(dict(run_seed(cfg, work_dir, seed, force=args.force),
                             seconds=round(time.time() - run_start, 1)))
        finished[name], stage_dirs[name] = runs[0]['checkpoint'], stage_dir
        units.add(ci_unit(runs[0]['test']))
        record.append(dict(stage=name, config=f'configs/demo/{config}',
                           runs=[dict(seed=r['seed'], seconds=r['seconds'],
                                      val=r['val'], test=r['test'])
                                 for r in runs]))
        run_dirs.append(seeds[0][1])

        def cell(split, key, digits=2):
            # multi-label metrics report the mean of the per-label AUCs
            if key not in runs[0][split]:
                key = f'{key}_mean'
            return metric_cell([r[split] for r in runs], key, digits)

        rows.append([
            name, f'{student_params(cfg):,}', cell('val', 'medical/accuracy'),
            cell('test', 'medical/accuracy'),
            cell('test', 'medical/f1_weighted'),
            cell('test', 'medical/auc', 4),
            cell('test', 'medical/ece_uncalibrated'),
            cell('test', 'medical/ece')
        ])
    table = GithubFlavoredMarkdownTable(rows)
    ci = f'[bootstrap 95% CI over {" / ".join(sorted(units))}]'
    seeds = (f', one run: {ci}' if args.seeds == 1 else
             f', students: mean ± std over {args.seeds} seeds, a single '
             f'run {ci}')
    table.title = (f'medkd demo: {args.method} on SyntheticCells (test split'
                   f'{seeds})')
    logger.info('\n' + table.table)
    if args.json:
        write_record(args.json, table.table, time.time() - start,
                     stages=record)
        logger.info(f'record: {osp.abspath(args.json)}')
    logger.info(f'{len(stages)} stages in {elapsed(start)}. Final '
                'checkpoints:\n' + '\n'.join(
                    f'  {name}: {ckpt}' for name, ckpt in finished.items()))
    if args.report:
        from medkd.apis.report import build_report  # matplotlib: on demand
        index = build_report(
            run_dirs, osp.join(args.work_dir, f'{args.method}_report'),
            [stage[0] for stage in stages],
            title=f'medkd demo: {args.method} on SyntheticCells' +
            ('' if args.seeds == 1 else ' (students: seed 0)'))
        logger.info(f'report: {osp.abspath(index)}')
    logger.info(next_steps(stages, finished, run_dirs))


def next_steps(stages, finished: dict, run_dirs: list) -> str:
    """Commands to run next, on this run's own files: test the last stage
    with CIs, compare its test predictions with the baseline's (the
    student alone, or the stage before it)."""
    last_name, last_config, last_teachers = stages[-1][:3]
    teacher_options = ''.join(
        f' model.teachers.{t}.ckpt={finished[stage]}'
        for t, stage in last_teachers.items())
    if teacher_options:
        teacher_options = ' --cfg-options' + teacher_options
    names = [stage[0] for stage in stages]
    base = next((i for i, n in enumerate(names)
                 if n.startswith('student alone') or n == 'MM-MIMO'),
                len(stages) - 2)
    dumps = [osp.join(run_dirs[i], RESULTS_FILE) for i in (base, -1)]
    return ('Next:\n'
            f'  # test the last student ({last_name}) with 95% CIs\n'
            f'  .venv/bin/python tools/test.py configs/demo/{last_config} '
            f'{finished[last_name]} --ci --out last.pkl{teacher_options}\n'
            f'  # compare its test predictions with {names[base]!r} '
            '(paired bootstrap, McNemar)\n'
            '  .venv/bin/python tools/analysis_tools/compare_predictions.py '
            f'{dumps[0]} {dumps[1]}\n'
            '  # see docs/tools.md and docs/reporting_results.md')


def ci_unit(test_metrics: dict) -> str:
    """What a run's bootstrap CIs resampled: ``'test images'``, or
    ``'N test patients'`` (``medical/ci_patients``)."""
    patients = int(test_metrics.get('medical/ci_patients', 0) or 0)
    return f'{patients} test patients' if patients else 'test images'


def elapsed(start: float) -> str:
    """``'3 min 07 s'`` since ``start``."""
    seconds = int(time.time() - start)
    return f'{seconds // 60} min {seconds % 60:02d} s'


if __name__ == '__main__':
    main()
