"""Reading pickles that other people may have written, without running code.

``tools/test.py --out`` writes mmengine's ``DumpResults`` pickles (lists of
per-sample dicts of tensors, numpy arrays, strings and numbers). A plain
``pickle.load`` of such a file runs whatever its ``__reduce__`` entries name,
so a shared results file could execute a shell command. :func:`safe_pickle_load`
uses an unpickler whose ``find_class`` only resolves an allow-list of
data-only constructors (tensor and numpy array rebuilders, ``OrderedDict``,
``set``...) and refuses every other global with :class:`UnsafeFileError`.
Tensor storages, which torch pickles as a nested ``torch.save`` blob, are
read back with ``torch.load(weights_only=True)``.
"""
import _compat_pickle
import io
import os.path as osp
import pickle
from typing import Any

import torch


class UnsafeFileError(RuntimeError):
    """A file holds objects that loading would have to import or execute."""


def _storage_from_bytes(data: bytes):
    """``torch.storage._load_from_bytes`` with weights-only loading."""
    return torch.load(io.BytesIO(data), weights_only=True)


def _allowed_globals() -> dict:
    import codecs
    import collections

    import numpy as np
    import torch._utils

    allowed = {
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('builtins', 'set'): set,
        ('builtins', 'frozenset'): frozenset,
        ('builtins', 'slice'): slice,
        ('builtins', 'complex'): complex,
        ('builtins', 'bytearray'): bytearray,
        # protocol-2 pickles (mmengine's default) write bytes as
        # _codecs.encode(<latin-1 str>, 'latin1')
        ('_codecs', 'encode'): codecs.encode,
        ('torch._utils', '_rebuild_tensor_v2'):
        torch._utils._rebuild_tensor_v2,
        ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
    }
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(module, '_reconstruct')] = np.ndarray.__reduce__(
            np.zeros(1))[0]
        allowed[(module, 'scalar')] = np.int64(0).__reduce__()[0]
    for name in ('float64', 'float32', 'float16', 'int64', 'int32', 'int16',
                 'int8', 'uint8', 'bool_'):
        allowed[('numpy', name)] = getattr(np, name)
    for dtype in ('Float', 'Double', 'Half', 'Long', 'Int', 'Short', 'Char',
                  'Byte', 'Bool', 'BFloat16'):
        allowed[('torch', f'{dtype}Storage')] = getattr(torch,
                                                        f'{dtype}Storage')
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16,
                  torch.int64, torch.int32, torch.int16, torch.int8,
                  torch.uint8, torch.bool):
        allowed[('torch', str(dtype).split('.')[1])] = dtype
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only data-only globals."""

    allowed = None

    def __init__(self, file, filename: str):
        super().__init__(file)
        self.filename = filename
        if _RestrictedUnpickler.allowed is None:
            _RestrictedUnpickler.allowed = _allowed_globals()

    def find_class(self, module: str, name: str):
        # Python 2 names (protocol-2 pickles), as pickle.Unpickler maps them
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafeFileError(
                f'Refused to load "{self.filename}": its pickle needs '
                f'{module}.{name}, which loading would have to import or '
                'execute. medkd only reads tensors, numpy arrays, plain '
                'containers, strings and numbers from results files. If you '
                'trust the file, re-create it with tools/test.py --out.'
            ) from None


def safe_pickle_load(filename: str) -> Any:
    """Load a pickle file that may only hold data.

    Args:
        filename (str): Path of the pickle (e.g. a ``tools/test.py --out``
            dump).

    Returns:
        The unpickled object.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeFileError: The pickle names a global outside the allow-list
            (it would run code when loaded).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'File not found: {filename}')
    with open(filename, 'rb') as f:
        try:
            return _RestrictedUnpickler(f, filename).load()
        except UnsafeFileError:
            raise
        except pickle.UnpicklingError as err:
            if 'GLOBAL' in str(err) or 'Unsupported' in str(err):
                raise UnsafeFileError(
                    f'Refused to load "{filename}": the tensor data inside '
                    f'it is not weights-only ({err}).') from None
            raise ValueError(
                f'"{filename}" is not a pickle file, or it is corrupt: {err}'
            ) from None
        except EOFError:
            raise ValueError(f'"{filename}" is truncated') from None
