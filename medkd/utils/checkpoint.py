"""Safe checkpoint loading.

torch >= 2.6 loads with ``weights_only=True``: only tensors and plain Python
containers are unpickled, so a checkpoint can never run code. medkd keeps that
default for every file a user gives it (``--resume``, ``load_from``, teacher
``ckpt``, ``init_cfg=dict(type='Pretrained')``, ``tools/test.py``): inside
:func:`safe_checkpoint_loaders` (every medkd run) mmengine's local-file
loader is :func:`safe_load`, which turns torch's unpickling error into :class:`UnsafeCheckpointError` naming the
file and the object that was refused. Checkpoints given as ``http://`` /
``https://`` URLs (and mmengine's ``torchvision://``, ``open-mmlab://``,
``mmcls://`` names, which resolve to URLs) are downloaded into torch.hub's
cache as before and then loaded from there with :func:`safe_load` too
(mmengine's own URL loader calls ``torch.hub.load_state_dict_from_url``,
whose ``weights_only`` defaults to False). What medkd itself saves stays loadable
because :class:`~medkd.engine.hooks.SafeCheckpointHook` stores mmengine's
message hub as plain types.
"""
import contextlib
import functools
import hashlib
import os
import os.path as osp
import pickle
import re
from typing import Optional
from urllib.parse import urlparse

import mmengine.runner.checkpoint as mmengine_checkpoint
import torch
import torch.nn as nn
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

from .safe_pickle import UnsafeFileError


class UnsafeCheckpointError(UnsafeFileError):
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


#: mmengine's ``revise_keys`` for checkpoints saved from a DDP-wrapped model.
DDP_REVISE_KEYS = ((r'^module\.', ''), )


def classifier_state_dict(checkpoint: dict,
                          prefix: str = 'student.') -> dict:
    """The classifier weights of a checkpoint.

    The ``state_dict`` (or the plain dict) with the DDP ``module.`` prefix
    removed (:data:`DDP_REVISE_KEYS`, as ``mmengine.runner.load_checkpoint``'s
    ``revise_keys``); when keys under ``prefix`` exist (a distiller
    checkpoint's student), only those, without the prefix.
    """
    state = checkpoint.get('state_dict', checkpoint)
    for pattern, replacement in DDP_REVISE_KEYS:
        state = {re.sub(pattern, replacement, k): v for k, v in state.items()}
    if prefix and any(k.startswith(prefix) for k in state):
        state = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
    return state


def load_classifier_weights(model: nn.Module, ckpt: str, key: str,
                            member: Optional[str] = None) -> None:
    """Load a classifier checkpoint into ``model``, strictly.

    Args:
        model (nn.Module): The classifier to fill.
        ckpt (str): A checkpoint saved by mmengine (``state_dict`` key) or a
            plain state dict: the classifier's own, a distiller's (its
            ``student.`` weights) or a ``LateFusionClassifier``'s (its
            member ``member``, keys ``members.<member>.*``).
        key (str): How errors name the model (``model.teachers.swin``).
        member (str, optional): The member to take from a late-fusion
            checkpoint (a checkpoint without members is loaded whole).
            Defaults to None: the whole checkpoint.
    """
    state = classifier_state_dict(safe_load(ckpt, map_location='cpu'))
    members = sorted({k.split('.')[1] for k in state
                      if k.startswith('members.')}) if member else []
    if members:
        if member not in members:
            raise KeyError(
                f'The late-fusion checkpoint "{ckpt}" given as {key}.ckpt '
                f'has members {members}; set {key}.member to one of them '
                f'(found member={member!r}).')
        prefix = f'members.{member}.'
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        what = f'member "{member}" of ' if members else ''
        raise RuntimeError(
            f'The {what}checkpoint "{ckpt}" given as {key}.ckpt does not fit '
            f'the architecture in {key}.model (another architecture or '
            f'another class count?):\n{err}') from None


def unwrap_model(model):
    """The model inside a DDP / FSDP wrapper (mmengine's
    ``is_model_wrapper``), or the model itself."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _load_from_local(filename, map_location):
    return safe_load(filename, map_location=map_location)


def hub_cache_path(url: str, model_dir=None) -> str:
    """Where torch.hub caches the file of ``url`` (``<hub dir>/checkpoints/
    <file name>`` unless ``model_dir`` is given)."""
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, osp.basename(urlparse(url).path))


def safe_load_from_http(filename: str,
                        map_location=None,
                        model_dir=None,
                        progress: bool = os.isatty(0)):
    """Download a URL checkpoint into torch.hub's cache (local rank 0 first,
    as mmengine does) and load it with :func:`safe_load`.

    Args:
        filename (str): ``http://`` or ``https://`` URL.
        map_location (str | callable, optional): Passed to
            :func:`torch.load`. Defaults to ``'cpu'``.
        model_dir (str, optional): Cache folder. Defaults to torch.hub's.
        progress (bool): Show a download progress bar.

    Raises:
        UnsafeCheckpointError: The downloaded file would run code.
    """
    cached = hub_cache_path(filename, model_dir)
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(cached):
        os.makedirs(osp.dirname(cached), exist_ok=True)
        torch.hub.download_url_to_file(filename, cached, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
    return safe_load(cached, map_location=map_location or 'cpu')


@contextlib.contextmanager
def safe_checkpoint_loaders():
    """While inside, mmengine loads every checkpoint through
    :func:`safe_load` (local files) and :func:`safe_load_from_http` (URLs,
    and the ``torchvision://`` / ``open-mmlab://`` / ``mmcls://`` names that
    resolve to URLs); mmengine's own loaders are put back on exit.

    :class:`~medkd.engine.MedKDRunner` runs its building, training,
    validation, testing and checkpoint loading inside it, so ``load_from``,
    ``--resume`` and ``init_cfg=dict(type='Pretrained')`` are safe in every
    medkd run, while nothing else in the process sees a change. (torch >=
    2.6 loads local files with ``weights_only=True`` anyway; this gives the
    error that names the file and the refused object, and makes URL
    checkpoints safe: ``torch.hub.load_state_dict_from_url`` does not use
    ``weights_only`` by default.) Re-entrant.
    """
    global _LOADER_DEPTH
    if _LOADER_DEPTH == 0:
        _register_loaders(_load_from_local, safe_load_from_http)
    _LOADER_DEPTH += 1
    try:
        yield
    finally:
        _LOADER_DEPTH -= 1
        if _LOADER_DEPTH == 0:
            _register_loaders(mmengine_checkpoint.load_from_local,
                              _MMENGINE_LOAD_FROM_HTTP)


_LOADER_DEPTH = 0
_MMENGINE_LOAD_FROM_HTTP = mmengine_checkpoint.load_from_http


def _register_loaders(local, http) -> None:
    """Make ``local`` / ``http`` mmengine's loaders of local files and
    URLs (through its public ``CheckpointLoader.register_scheme``)."""
    CheckpointLoader.register_scheme(prefixes='', loader=local, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=http, force=True)
    # mmengine's torchvision:// / open-mmlab:// / mmcls:// loaders resolve a
    # name to a URL and call this module-level function directly
    mmengine_checkpoint.load_from_http = http


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (read in 4 MiB blocks; remembered per
    path, size and modification time, so a teacher file is read once)."""
    stat = os.stat(path)
    return _sha256_of(osp.abspath(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()
