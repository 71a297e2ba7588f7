"""Seconds per training step: student alone vs. distillation with teachers
for free, live, or served from the teacher-output cache.

    python tools/analysis_tools/benchmark_step.py --method gated \
        [--size small|paper] [--batch 16] [--image-size 64] [--json OUT.json]

All four modes run in one process, interleaved round by round after a
warm-up, on the same student, batch and image size:

- ``student_only_s``: the student trained alone (its own classifier);
- ``free_teacher_s``: the distiller with teacher logits given as
  precomputed tensors (the lower bound of any teacher speed-up);
- ``live_teacher_s``: the distiller running its frozen teachers;
- ``cached_teacher_s``: the distiller reading the teacher-output cache
  (a float16 memory map, as ``teacher_cache = dict(...)`` uses).

Teachers keep random weights (speed does not depend on them).
"""
import argparse
import json
import os.path as osp
import statistics
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.utils import ProgressBar
from mmpretrain.structures import DataSample
from terminaltables import AsciiTable

from medkd.engine.teacher_cache import TeacherOutputCache
from medkd.registry import MODELS
from medkd.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    ('kd', 'small'): 'configs/demo/kd_resnet18_convnet_cells.py',
    ('gated', 'small'): 'configs/demo/gated_resnet18_convnet_cells.py',
    ('gated', 'paper'): 'configs/gated/swin_convnext_mbv2.py',
}
MODES = ('student_only', 'free_teacher', 'live_teacher', 'cached_teacher')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', choices=['kd', 'gated'], default='gated')
    parser.add_argument('--size', choices=['small', 'paper'],
                        default='small', help='demo models or the paper\'s')
    parser.add_argument('--config', help='any distiller config instead')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--image-size', type=int, help='default: 64 for '
                        'small, 224 for paper')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--steps', type=int, default=4,
                        help='steps per mode per round')
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--json', help='write the results here')
    return parser.parse_args()


def make_batch(batch, size, num_classes):
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
              for _ in range(batch)]
    samples = []
    for i in range(batch):
        sample = DataSample(metainfo=dict(cache_index=i))
        samples.append(sample.set_gt_label(i % num_classes))
    return dict(inputs=inputs, data_samples=samples)


def build(cfg, device):
    """The distiller (teachers unloaded) and the student alone."""
    model_cfg = cfg.model
    for teacher in model_cfg.teachers.values():
        teacher.ckpt = None
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    distiller = MODELS.build(model_cfg).to(device)
    student_cfg = dict(model_cfg.student)
    student_cfg['data_preprocessor'] = dict(
        model_cfg.data_preprocessor, type='ClsDataPreprocessor')
    student = MODELS.build(student_cfg).to(device)
    distiller.train()
    student.train()
    return distiller, student


def main():
    args = parse_args()
    register_all_modules()
    config = args.config or CONFIGS.get((args.method, args.size))
    if config is None:
        raise SystemExit(f'no {args.size} config for --method {args.method};'
                         ' pass --config')
    cfg = Config.fromfile(osp.join(ROOT, config) if not osp.isabs(config)
                          else config)
    size = args.image_size or (224 if args.size == 'paper' else 64)
    distiller, student = build(cfg, args.device)
    num_classes = cfg.data_preprocessor.num_classes
    data = make_batch(args.batch, size, num_classes)

    with torch.no_grad():
        inputs = distiller.data_preprocessor(data, False)['inputs']
        free = distiller.teacher_logits(inputs)
    live_teacher_logits = distiller.teacher_logits
    tmp = tempfile.TemporaryDirectory()
    cache = TeacherOutputCache(tmp.name, 'benchmark',
                               (args.batch, len(free), num_classes))
    cache.create()
    cache.write(list(range(args.batch)),
                torch.stack(list(free.values()), dim=1))
    cache.flush()
    cache.open_readonly()

    def configure(mode):
        distiller.teacher_cache = cache if mode == 'cached_teacher' else None
        if mode == 'free_teacher':
            distiller.teacher_logits = lambda *a, **k: free
        else:
            distiller.teacher_logits = live_teacher_logits

    optims = {
        'student_only': OptimWrapper(torch.optim.Adam(student.parameters())),
        'distiller': OptimWrapper(
            torch.optim.Adam(
                p for p in distiller.parameters() if p.requires_grad)),
    }

    def step(mode):
        if mode == 'student_only':
            student.train_step(data, optims['student_only'])
        else:
            distiller.train_step(data, optims['distiller'])
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()

    times = {mode: [] for mode in MODES}
    peak = {}
    # progress: a whole run takes minutes on a CPU with paper-size models
    progress = ProgressBar(len(MODES) * (args.warmup + args.rounds *
                                         args.steps))
    for mode in MODES:
        configure(mode)
        for _ in range(args.warmup):
            step(mode)
            progress.update()
    for _ in range(args.rounds):
        for mode in MODES:
            configure(mode)
            if args.device.startswith('cuda'):
                torch.cuda.reset_peak_memory_stats()
            for _ in range(args.steps):
                start = time.perf_counter()
                step(mode)
                times[mode].append(time.perf_counter() - start)
                progress.update()
            if args.device.startswith('cuda'):
                peak[mode] = max(peak.get(mode, 0),
                                 torch.cuda.max_memory_allocated() / 2**20)
    print()
    medians = {mode: statistics.median(times[mode]) for mode in MODES}

    rows = [['mode', 's / step', '× student alone', '× free teacher',
             'peak GPU MB']]
    for mode in MODES:
        rows.append([
            mode, f'{medians[mode]:.4f}',
            f"{medians[mode] / medians['student_only']:.2f}",
            f"{medians[mode] / medians['free_teacher']:.2f}",
            f'{peak[mode]:.0f}' if mode in peak else 'n/a (CPU)'
        ])
    title = (f'{config} | batch {args.batch} | {size}px | {args.device} | '
             f'median of {args.rounds * args.steps} steps')
    print(AsciiTable(rows, title=title).table)
    result = {f'{mode}_s': medians[mode] for mode in MODES}
    result.update(
        cached_over_free=medians['cached_teacher'] / medians['free_teacher'],
        live_over_free=medians['live_teacher'] / medians['free_teacher'],
        config=config, batch=args.batch, image_size=size,
        device=args.device, peak_gpu_mb=peak or None,
        torch_threads=torch.get_num_threads())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    tmp.cleanup()


if __name__ == '__main__':
    main()
