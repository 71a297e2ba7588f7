"""Checkpoint size of a distiller config: with and without its teachers.

    python tools/analysis_tools/checkpoint_size.py CONFIG [CONFIG ...] \
        [--cfg-options k=v ...]

Builds each config's model with random weights (no teacher file is read)
and its optimizer, takes one optimizer step so that its state exists
(momentum, Adam moments), and measures ``torch.save`` of what a checkpoint
holds: the model's state dict and the optimizer state. Three sizes per
config: the student alone (its own checkpoint), the distiller as medkd
saved it before (every frozen teacher's weights included) and as it saves
it now (teachers loaded from files are stored as their path and SHA-256,
``meta['teacher_files']``), and the ratio of the last to the first.
"""
import argparse
import io

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from terminaltables import GithubFlavoredMarkdownTable

from medkd.apis.inference import model_config, without_teacher_files
from medkd.apis.records import write_record
from medkd.models.distillers import is_distiller
from medkd.registry import MODELS
from medkd.utils import register_all_modules
from medkd.utils.config import load_config


def saved_mb(obj) -> float:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer().nbytes / 2**20


def optimizer_state(model, cfg) -> dict:
    """The optimizer state of ``model`` after one step with zero gradients
    (the buffers a checkpoint stores, without changing the weights' size)."""
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.zeros_like(p)
    wrapper.step()
    return wrapper.state_dict()


def measure(cfg: Config) -> dict:
    model = MODELS.build(model_config(cfg))
    if not is_distiller(cfg.model):
        raise ValueError('not a distiller config: its checkpoint is the '
                         "classifier's own")
    student = MODELS.build(model_config(cfg, 'student'))
    alone = saved_mb(dict(state_dict=student.state_dict(),
                          optimizer=optimizer_state(student, cfg)))
    opt = optimizer_state(model, cfg)
    # every teacher as if loaded from its file (as trained distillers are)
    for name, teacher in model.teachers.items():
        teacher.ckpt, teacher.sha256 = f'{name}.pth', '0' * 64
    after = saved_mb(dict(state_dict=model.state_dict(), optimizer=opt,
                          meta=dict(teacher_files=model.teacher_files)))
    for teacher in model.teachers.values():
        teacher.ckpt = teacher.sha256 = None
    before = saved_mb(dict(state_dict=model.state_dict(), optimizer=opt))
    return dict(alone=alone, before=before, after=after)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='distiller configs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config')
    parser.add_argument('--json', help='also write the table\'s record '
                        '(docs/results/<name>.json) here')
    args = parser.parse_args()
    register_all_modules(init_default_scope=True)
    rows = [['config', 'student alone (MB)', 'distiller, teachers stored '
             '(MB)', 'distiller now (MB)', 'now / student alone']]
    for path in args.configs:
        cfg = load_config(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        without_teacher_files(cfg.model)  # random weights: nothing read
        sizes = measure(cfg)
        rows.append([path, f'{sizes["alone"]:.3f}', f'{sizes["before"]:.3f}',
                     f'{sizes["after"]:.3f}',
                     f'{sizes["after"] / sizes["alone"]:.3f}'])
    table = GithubFlavoredMarkdownTable(rows).table
    print(table)
    if args.json:
        write_record(args.json, table, results=rows)


if __name__ == '__main__':
    main()
