"""Turn a distiller checkpoint into a plain student checkpoint.

    python tools/model_converters/extract_student.py DISTILLER_CKPT OUT.pth

The output holds the student's weights only (``state_dict`` without the
``student.`` prefix, plus ``meta``), so ``tools/test.py`` on the student's own
config, ``load_from`` and ``init_cfg=dict(type='Pretrained')`` all take it.
Teachers, gates and connectors are dropped.
"""
import argparse

import torch

from medkd.utils.checkpoint import safe_load


def extract_student(checkpoint: dict) -> dict:
    """Return ``{'state_dict': student weights, 'meta': ...}``."""
    state = checkpoint.get('state_dict', checkpoint)
    student = {
        key[len('student.'):]: value
        for key, value in state.items() if key.startswith('student.')
    }
    if not student:
        raise KeyError('no "student." weights in the checkpoint: is it a '
                       'distiller checkpoint?')
    # the distiller's data preprocessor is the student's
    student.update({
        key: value
        for key, value in state.items()
        if key.startswith('data_preprocessor.')
    })
    meta = {k: v for k, v in checkpoint.get('meta', {}).items()
            if k in ('epoch', 'iter', 'dataset_meta', 'mmengine_version')}
    return dict(state_dict=student, meta=meta)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='distiller checkpoint')
    parser.add_argument('dst', help='output student checkpoint')
    args = parser.parse_args()
    try:
        student = extract_student(safe_load(args.src))
    except KeyError as err:
        raise SystemExit(f'{args.src}: {err.args[0]}')
    torch.save(student, args.dst)
    n = sum(v.numel() for v in student['state_dict'].values())
    print(f'Saved the student ({len(student["state_dict"])} tensors, '
          f'{n:,} values) to {args.dst}')


if __name__ == '__main__':
    main()
