"""Files that readers never see half-written."""
import os
import os.path as osp
import tempfile

__all__ = ['atomic_write']


def atomic_write(path: str, write) -> None:
    """Write a file through a temporary file in the same folder and
    ``os.replace``, so readers never see a partial file.

    Args:
        path (str): Destination.
        write (callable): ``write(file_object)`` fills the binary temp file.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
