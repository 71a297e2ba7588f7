"""One way for every tool to build a config's model with its preprocessing.

``tools/train.py`` / ``tools/test.py`` build the model through mmengine's
Runner, which gives the model the config's top-level ``data_preprocessor``
(``model.setdefault('data_preprocessor', cfg.data_preprocessor)``). A tool
that builds ``cfg.model`` directly without it feeds raw 0-255 pixels in the
loader's channel order. :func:`model_config` and :func:`build_model` do what
the Runner does, so a tool's predictions are ``tools/test.py``'s.
"""
import copy
from typing import List

import torch.nn as nn
from mmengine.config import Config

from medkd.models.calibration import attach_calibration, build_calibration
from medkd.models.distillers import is_distiller
from medkd.registry import MODELS
from medkd.utils.checkpoint import load_classifier_weights, safe_load

__all__ = ['model_config', 'build_model', 'without_teacher_files']


def without_teacher_files(model: dict) -> List[str]:
    """Drop every teacher file of a distiller's ``model`` config
    (``ckpt``, a checkpoint sequence's ``route``), in place: the teachers
    are built with their initial weights. Returns the teachers' names."""
    for teacher in model['teachers'].values():
        teacher['ckpt'] = None
    if model.get('route') is not None:
        model['route'] = None
    return list(model['teachers'])


def model_config(cfg: Config, part: str = 'model') -> dict:
    """``cfg.model`` (or its ``student`` with ``part='student'``) with the
    config's top-level ``data_preprocessor``, as the Runner builds it.

    A distiller's student gets the distiller's preprocessor (the one it is
    trained and tested with).
    """
    model = copy.deepcopy(cfg.model)
    model = model.to_dict() if hasattr(model, 'to_dict') else dict(model)
    if cfg.get('data_preprocessor') is not None:
        preprocessor = cfg.data_preprocessor
        model.setdefault(
            'data_preprocessor',
            preprocessor.to_dict()
            if hasattr(preprocessor, 'to_dict') else dict(preprocessor))
    if part == 'student' and is_distiller(model):
        student = dict(model['student'])
        if model.get('data_preprocessor') is not None:
            student['data_preprocessor'] = dict(model['data_preprocessor'])
        return student
    return model


def build_model(cfg: Config, checkpoint: str = None) -> nn.Module:
    """The config's model, with its preprocessing, loaded strictly, in
    ``eval()`` mode.

    A checkpoint with ``meta['calibration']`` (temperature scaling) gives a
    calibrated model: ``predict`` scores and ``mode='tensor'`` logits are
    calibrated, as in ``tools/test.py``.

    A distiller config with a distiller checkpoint loads everything from
    the checkpoint (the config's teacher ``ckpt`` files are not needed);
    with a classifier checkpoint the student gets those weights and the
    teachers load their configured ``ckpt``. A classifier config takes its
    own checkpoint or a distiller checkpoint's student part.

    Args:
        cfg (Config): A full medkd config.
        checkpoint (str, optional): The weights. Defaults to None (initial
            weights).

    Returns:
        nn.Module: The model.
    """
    model_cfg = model_config(cfg)
    distiller = is_distiller(model_cfg)
    state = None
    calibration = None
    if checkpoint:
        state = safe_load(checkpoint)
        calibration = (state.get('meta') or {}).get('calibration')
        state = state.get('state_dict', state)
    if distiller and state is not None and any(
            k.startswith('student.') for k in state):
        without_teacher_files(model_cfg)  # the checkpoint has what counts
        model = MODELS.build(model_cfg)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise RuntimeError(f'{checkpoint} does not fit the model of the '
                               f'config:\n{err}') from None
    else:
        model = MODELS.build(model_cfg)
        if checkpoint:
            target = model.student if distiller else model
            load_classifier_weights(target, checkpoint,
                                    'student' if distiller else 'model')
        else:
            model.init_weights()
    if calibration:
        attach_calibration(model, build_calibration(calibration))
    return model.eval()
