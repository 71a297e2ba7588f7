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

With ``--memory`` each mode also runs alone in a fresh process and its peak
memory during training steps is reported, above the process before any
model was built: CUDA peak allocated, or on CPU the peak resident set
(``VmHWM``, reset through ``/proc/self/clear_refs`` after the set-up, with
glibc's mmap threshold fixed so freed tensors go back to the system). The
student-only process builds the student alone; the cached one builds the
distiller, fills the cache, then frees the teachers as
``teacher_cache.release_teachers`` does in training.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from mmengine.config import DictAction
from mmengine.optim import OptimWrapper
from mmengine.utils import ProgressBar
from mmpretrain.structures import DataSample
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis.inference import without_teacher_files
from medkd.apis.records import write_record
from medkd.engine.teacher_cache import TeacherOutputCache
from medkd.registry import MODELS
from medkd.utils import register_all_modules
from medkd.utils.config import load_config

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
    parser.add_argument('--json', help='also write the table\'s record '
                        '(docs/results/<name>.json) here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    parser.add_argument('--memory', action='store_true',
                        help='also the peak memory of each mode, each in a '
                        'process of its own')
    parser.add_argument('--memory-of', choices=MODES, help=argparse.SUPPRESS)
    return parser.parse_args()


def resident_mb(field='VmRSS'):
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'no {field} in /proc/self/status')


def reset_peak(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current VmRSS


def peak_mb(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    return resident_mb('VmHWM')


def used_mb(device):
    if device.startswith('cuda'):
        return torch.cuda.memory_allocated() / 2**20
    return resident_mb()


def memory_per_mode(args):
    """``{mode: MB}``, each mode measured by a fresh run of this tool."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072')
    result = {}
    for mode in MODES:
        with tempfile.NamedTemporaryFile(suffix='.json') as out:
            cmd = [sys.executable, osp.abspath(__file__),
                   *[a for a in sys.argv[1:] if a != '--memory'],
                   '--memory-of', mode, '--json', out.name]
            # the last --json wins in argparse: the child writes here
            subprocess.run(cmd, check=True, env=env,
                           stdout=subprocess.DEVNULL)
            with open(out.name) as f:
                result[mode] = json.load(f)['peak_mb']
    return result


def make_batch(batch, size, num_classes):
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
              for _ in range(batch)]
    samples = []
    for i in range(batch):
        sample = DataSample(metainfo=dict(cache_index=i))
        samples.append(sample.set_gt_label(i % num_classes))
    return dict(inputs=inputs, data_samples=samples)


def filled_caches(folder, logits):
    """``{name: cache}``: a complete, read-only cache per teacher holding
    its ``(B, C)`` logits of ``{name: logits}`` for the samples of
    ``make_batch`` (``cache_index`` 0 .. B-1)."""
    caches = {}
    for name, values in logits.items():
        cache = TeacherOutputCache(folder, f'benchmark_{name}',
                                   tuple(values.shape))
        cache.create()
        cache.write(list(range(values.shape[0])), values)
        cache.flush()
        caches[name] = cache.open_readonly()
    return caches


def build(cfg, device, distiller=True, student=True):
    """The distiller (teachers unloaded) and the student alone (None for
    the one not asked for)."""
    model_cfg = cfg.model
    without_teacher_files(model_cfg)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    built = []
    if distiller:
        built.append(MODELS.build(model_cfg).to(device).train())
    else:
        built.append(None)
    if student:
        student_cfg = dict(model_cfg.student)
        student_cfg['data_preprocessor'] = dict(
            model_cfg.data_preprocessor, type='ClsDataPreprocessor')
        built.append(MODELS.build(student_cfg).to(device).train())
    else:
        built.append(None)
    return tuple(built)


def main():
    args = parse_args()
    command_start = time.time()
    register_all_modules()
    config = args.config or CONFIGS.get((args.method, args.size))
    if config is None:
        raise SystemExit(f'no {args.size} config for --method {args.method};'
                         ' pass --config')
    cfg = load_config(osp.join(ROOT, config) if not osp.isabs(config)
                      else config, args.cfg_options)
    size = args.image_size or (224 if args.size == 'paper' else 64)
    if args.memory_of:
        return measure_memory(args, cfg, size)
    distiller, student = build(cfg, args.device)
    num_classes = cfg.data_preprocessor.num_classes
    data = make_batch(args.batch, size, num_classes)

    with torch.no_grad():
        inputs = distiller.data_preprocessor(data, False)['inputs']
        free = distiller.teacher_logits(inputs)
    live_teacher_logits = distiller.teacher_logits
    tmp = tempfile.TemporaryDirectory()
    caches = filled_caches(tmp.name, free)

    def configure(mode):
        for name, teacher in distiller.teachers.items():
            teacher.cache = caches[name] if mode == 'cached_teacher' else None
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

    memory = memory_per_mode(args) if args.memory else {}
    unit = 'GPU' if args.device.startswith('cuda') else 'RSS'
    rows = [['mode', 's / step', '× student alone', '× free teacher']]
    if peak:
        rows[0].append('peak GPU MB (shared process)')
    if memory:
        rows[0].append(f'peak {unit} MB (own process)')
    for mode in MODES:
        rows.append([
            mode, f'{medians[mode]:.4f}',
            f"{medians[mode] / medians['student_only']:.2f}",
            f"{medians[mode] / medians['free_teacher']:.2f}"
        ] + ([f'{peak[mode]:.0f}'] if peak else []) +
            ([f'{memory[mode]:.1f}'] if memory else []))
    print(f'{config} | batch {args.batch} | {size}px | {args.device} | '
          f'median of {args.rounds * args.steps} steps')
    table = GithubFlavoredMarkdownTable(rows).table
    print(table)
    result = {f'{mode}_s': medians[mode] for mode in MODES}
    result.update(
        cached_over_free=medians['cached_teacher'] / medians['free_teacher'],
        live_over_free=medians['live_teacher'] / medians['free_teacher'],
        config=config, batch=args.batch, image_size=size,
        device=args.device, peak_gpu_mb=peak or None,
        peak_memory_mb=memory or None,
        torch_threads=torch.get_num_threads())
    if args.json:
        write_record(args.json, table, time.time() - command_start,
                     results=result)
    tmp.cleanup()


def measure_memory(args, cfg, size):
    """The child of ``--memory``: peak memory of ``args.memory_of`` steps."""
    mode = args.memory_of
    baseline = used_mb(args.device)
    num_classes = cfg.data_preprocessor.num_classes
    data = make_batch(args.batch, size, num_classes)
    tmp = tempfile.TemporaryDirectory()
    if mode == 'student_only':
        _, student = build(cfg, args.device, distiller=False)
        model = student
    else:
        distiller, _ = build(cfg, args.device, student=False)
        model = distiller
        with torch.no_grad():
            inputs = distiller.data_preprocessor(data, False)['inputs']
            free = distiller.teacher_logits(inputs)
        if mode == 'free_teacher':
            distiller.teacher_logits = lambda *a, **k: free
        elif mode == 'cached_teacher':
            caches = filled_caches(tmp.name, free)
            for name, teacher in distiller.teachers.items():
                path = osp.join(tmp.name, f'{name}.pth')
                torch.save({'state_dict': teacher.model.state_dict()}, path)
                teacher.load(path)  # as loaded from its file, then freed
                teacher.cache = caches[name]
                teacher.release()
        del inputs
    optim = OptimWrapper(torch.optim.Adam(
        p for p in model.parameters() if p.requires_grad))
    for _ in range(args.warmup):
        model.train_step(data, optim)
    reset_peak(args.device)
    for _ in range(args.steps):
        model.train_step(data, optim)
    peak = peak_mb(args.device) - baseline
    with open(args.json, 'w') as f:
        json.dump(dict(mode=mode, peak_mb=peak), f)
    tmp.cleanup()


if __name__ == '__main__':
    main()
