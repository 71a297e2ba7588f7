"""Turn a distiller checkpoint into a plain student checkpoint.

    python tools/model_converters/extract_student.py DISTILLER_CKPT OUT.pth

The output holds the student's weights only (``state_dict`` without the
``student.`` prefix) and ``meta`` with the student's preprocessing as the
run configured it (``meta['data_preprocessor']``: mean, std, channel order;
``meta['test_pipeline']``; ``meta['dataset_meta']`` with the class names; the
run's temperature scaling, ``meta['calibration']``,
when the run recorded them), so ``tools/test.py`` on the student's own
config, ``load_from``, ``init_cfg=dict(type='Pretrained')`` and a
deployment all take it. Teachers, gates and connectors are dropped.
"""
import argparse

import torch
from mmengine.config import Config

from medkd.apis.inference import model_config
from medkd.utils.checkpoint import safe_load

KEPT_META = ('epoch', 'iter', 'dataset_meta', 'mmengine_version', 'seed',
             'calibration')


def preprocessing_meta(meta: dict) -> dict:
    """The student's ``data_preprocessor`` and test pipeline from the
    config text mmengine stores in ``meta['cfg']`` (empty without it)."""
    if not meta.get('cfg'):
        return {}
    cfg = Config.fromstring(meta['cfg'], '.py')
    student = model_config(cfg, part='student')
    loader = cfg.get('test_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline') or cfg.get(
        'test_pipeline')
    found = dict(data_preprocessor=student.get('data_preprocessor'))
    if pipeline is not None:
        found['test_pipeline'] = [dict(step) for step in pipeline]
    return {
        k: (v.to_dict() if hasattr(v, 'to_dict') else v)
        for k, v in found.items() if v is not None
    }


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
    source = checkpoint.get('meta', {})
    meta = {k: v for k, v in source.items() if k in KEPT_META}
    meta.update(preprocessing_meta(source))
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
