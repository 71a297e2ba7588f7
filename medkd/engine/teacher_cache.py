"""A file of frozen teachers' outputs for every (sample, view) pair."""
import hashlib
import io
import json
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.logging import print_log

from medkd.utils.fileio import atomic_write

#: Storage types of the cache: float16 halves the file (outputs within
#: float16 precision, e.g. 12.34 comes back as 12.34375), float32 is exact.
DTYPES = {'float16': (np.float16, 'f16'), 'float32': (np.float32, 'f32')}


def tensors_digest(state_dict: dict) -> str:
    """SHA-1 over the names and values of a state dict (its weights)."""
    digest = hashlib.sha1()
    for name, tensor in state_dict.items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(
            torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def module_fingerprint(module: torch.nn.Module) -> dict:
    """What a (parameter-free) module such as a data preprocessor computes
    with: its class, every buffer (e.g. ``mean`` / ``std``, which
    mmengine registers as non-persistent buffers, so they are not in the
    state dict) and its plain attributes (e.g. the channel conversion
    flag). ``repr`` prints ``ClsDataPreprocessor()`` whatever the values."""
    buffers = dict(module.named_buffers())
    attributes = {
        name: value
        for name, value in sorted(vars(module).items())
        if not name.startswith(('__', '_is_')) and name != 'training'
        and isinstance(value, (bool, int, float, str, type(None)))
    }
    attributes.update({
        name: list(value)
        for name, value in sorted(vars(module).items())
        if isinstance(value, tuple) and all(
            isinstance(v, (bool, int, float, str)) for v in value)
    })
    return dict(
        type=f'{type(module).__module__}.{type(module).__qualname__}',
        buffers=tensors_digest(buffers),
        attributes=attributes)


def file_digest(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


class TeacherOutputCache:
    """One teacher's logits, ``(N × V, C)``, in a float16 (or float32)
    memory map.

    Files: ``{folder}/{key}.f16`` (the array; ``.f32`` for float32) and
    ``{folder}/{key}.json``
    (``key``, ``shape``, ``sha1`` of the array, ``complete``). A cache is only
    used when all of these agree; a truncated or half-built file is rebuilt.
    A lazily filled cache (:meth:`open_lazy`) holds the rows stored so far
    (``{key}.filled.npy`` records them) and refuses lookups of any other.

    Args:
        folder (str): Where the files live (``{work_dir}/teacher_cache``).
        key (str): Digest of everything the outputs depend on (teacher
            weights, pipeline, dataset, views).
        shape (Sequence[int]): ``(N × V, C)``.
        dtype (str): ``'float16'`` or ``'float32'``. Defaults to
            ``'float16'``.
    """

    def __init__(self, folder: str, key: str, shape: Sequence[int],
                 dtype: str = 'float16'):
        if dtype not in DTYPES:
            raise ValueError(f'teacher_cache.dtype must be one of '
                             f'{sorted(DTYPES)}, got {dtype!r}')
        self.folder = folder
        self.key = key
        self.shape = tuple(int(s) for s in shape)
        self.dtype, suffix = DTYPES[dtype]
        self.filled_path = osp.join(folder, f'{key}.filled.npy')
        # a lazily filled cache: which rows hold outputs (None: all do)
        self.filled: Optional[np.ndarray] = None
        self.data_path = osp.join(folder, f'{key}.{suffix}')
        self.meta_path = osp.join(folder, f'{key}.json')
        self._array: Optional[np.memmap] = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    @property
    def complete(self) -> bool:
        """Whether every row holds outputs."""
        return self.filled is None or bool(self.filled.all())

    def invalid_reason(self) -> Optional[str]:
        """Why the files on disk cannot be used, or None if they can."""
        if not osp.isfile(self.meta_path) or not osp.isfile(self.data_path):
            return 'no cache yet'
        with open(self.meta_path) as f:
            meta = json.load(f)
        if meta.get('key') != self.key or tuple(
                meta.get('shape', ())) != self.shape:
            return 'built for other teachers / data'
        if not meta.get('complete'):
            return 'an earlier build did not finish'
        size = osp.getsize(self.data_path)
        if size != self.nbytes:
            return (f'{self.data_path} has {size} bytes, expected '
                    f'{self.nbytes} (truncated?)')
        if file_digest(self.data_path) != meta.get('sha1'):
            return f'{self.data_path} does not match its checksum'
        return None

    def create(self) -> None:
        """Allocate the array file (one process only)."""
        os.makedirs(self.folder, exist_ok=True)
        if osp.exists(self.meta_path):
            os.remove(self.meta_path)
        np.memmap(self.data_path, dtype=self.dtype, mode='w+',
                  shape=self.shape).flush()

    def write(self, indices: Sequence[int], logits: torch.Tensor) -> None:
        """Store ``(B, C)`` logits at rows ``indices``."""
        if self._array is None or self._array.mode != 'r+':
            self._array = np.memmap(self.data_path, dtype=self.dtype,
                                    mode='r+', shape=self.shape)
        self._array[np.asarray(indices)] = logits.detach().float().cpu(
        ).numpy().astype(self.dtype)

    def finalize(self) -> None:
        """Flush, checksum and mark complete (one process, after all
        writers flushed)."""
        text = json.dumps(dict(key=self.key, shape=self.shape,
                               sha1=file_digest(self.data_path),
                               complete=True)).encode()
        atomic_write(self.meta_path, lambda f: f.write(text))

    def flush(self) -> None:
        if self._array is not None:
            self._array.flush()
            self._array = None

    def open_readonly(self) -> 'TeacherOutputCache':
        self._array = np.memmap(self.data_path, dtype=self.dtype, mode='r',
                                shape=self.shape)
        return self

    def lookup(self, indices: Sequence[int]) -> torch.Tensor:
        """``(B, C)`` float32 logits of the given flat indices."""
        if self._array is None:
            self.open_readonly()
        indices = np.asarray(indices)
        if self.filled is not None and not self.filled[indices].all():
            missing = indices[~self.filled[indices]].tolist()
            raise RuntimeError(
                f'Teacher output cache {self.data_path} holds no outputs for '
                f'rows {missing[:8]} yet: fill them first (store).')
        rows = self._array[indices]
        return torch.from_numpy(rows.astype(np.float32))

    # a lazily filled cache ------------------------------------------------
    def create_lazy(self) -> None:
        """Allocate the array unless a lazily filled one of this key and
        shape exists (one process only)."""
        os.makedirs(self.folder, exist_ok=True)
        if osp.isfile(self.data_path) and osp.getsize(
                self.data_path) == self.nbytes and osp.isfile(
                    self.filled_path):
            return
        if osp.exists(self.filled_path):
            os.remove(self.filled_path)
        self.create()

    def open_lazy(self) -> 'TeacherOutputCache':
        """Open for reading and filling; rows recorded as filled by an
        earlier run (:meth:`flush_lazy`) are read back."""
        self._array = np.memmap(self.data_path, dtype=self.dtype, mode='r+',
                                shape=self.shape)
        self.filled = np.zeros(self.shape[0], bool)
        if osp.isfile(self.filled_path):
            saved = np.load(self.filled_path)
            if saved.shape == self.filled.shape:
                self.filled = saved.astype(bool)
        return self

    def missing(self, indices: Sequence[int]) -> np.ndarray:
        """``(B,)`` bool: which of ``indices`` hold no outputs yet."""
        if self.filled is None:
            return np.zeros(len(indices), bool)
        return ~self.filled[np.asarray(indices)]

    def store(self, indices: Sequence[int], logits: torch.Tensor) -> None:
        """Fill rows ``indices`` with ``(B, C)`` logits."""
        indices = np.asarray(indices)
        self._array[indices] = logits.detach().float().cpu().numpy().astype(
            self.dtype)
        self.filled[indices] = True

    def flush_lazy(self, record: bool = True) -> None:
        """Write the filled rows to disk and, with ``record``, which rows
        they are (atomically), so a later run reads them back."""
        self._array.flush()
        if record:
            buffer = io.BytesIO()
            np.save(buffer, self.filled)
            atomic_write(self.filled_path,
                         lambda f: f.write(buffer.getvalue()))

    def log_reuse(self) -> None:
        print_log(f'Teacher output cache: reusing {self.data_path}',
                  logger='current')
