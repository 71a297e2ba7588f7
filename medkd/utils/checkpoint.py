"""Safe checkpoint loading.

torch >= 2.6 loads with ``weights_only=True``: only tensors and plain Python
containers are unpickled, so a checkpoint can never run code. medkd keeps that
default for every file a user gives it (``--resume``, ``load_from``, teacher
``ckpt``, ``init_cfg=dict(type='Pretrained')``, ``tools/test.py``): this
module replaces mmengine's local-file loader with :func:`safe_load`, which
turns torch's unpickling error into :class:`UnsafeCheckpointError` naming the
file and the object that was refused. What medkd itself saves stays loadable
because :class:`~medkd.engine.hooks.SafeCheckpointHook` stores mmengine's
message hub as plain types.
"""
import os.path as osp
import pickle
import re

import torch
from mmengine.runner.checkpoint import CheckpointLoader


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint holds objects that loading would have to execute."""


def safe_load(filename: str, map_location='cpu'):
    """Load a local checkpoint with ``torch.load(weights_only=True)``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | callable): Passed to :func:`torch.load`.
            Defaults to ``'cpu'``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file's pickle refers to objects outside the
            weights-only allow-list (it would run code when loaded).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r'GLOBAL ([\w.]+)', str(err))
        culprit = found.group(1) if found else 'a non-tensor object'
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint "{filename}": its pickle needs '
            f'{culprit}, which loading would have to import or execute. '
            'medkd only loads tensors and plain containers '
            '(torch.load(weights_only=True)). If you trust the file, re-save '
            'its state_dict with torch.save({"state_dict": model.state_dict()'
            '}, path) and load that.') from None
    except (EOFError, RuntimeError) as err:
        raise RuntimeError(
            f'Checkpoint file "{filename}" is truncated or corrupt: {err}'
        ) from None


def _load_from_local(filename, map_location):
    return safe_load(filename, map_location=map_location)


CheckpointLoader.register_scheme(
    prefixes='', loader=_load_from_local, force=True)
