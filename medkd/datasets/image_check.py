"""Up-front check that image files decode, for ``check_images=True``.

At load time mmpretrain's ``LoadImageFromFile`` already names the path of a
missing file (``FileNotFoundError``) or of one that does not decode
(``AssertionError: failed to load image: <path>``). This check finds such files
before training starts, all of them at once.
"""
from typing import Sequence

import mmcv
from mmengine.fileio import get
from mmengine.logging import MMLogger


def verify_images(paths: Sequence[str], max_listed: int = 10) -> None:
    """Decode every image the way ``LoadImageFromFile`` does.

    Args:
        paths (Sequence[str]): Image file paths.
        max_listed (int): How many unreadable paths the error lists.
            Defaults to 10.

    Raises:
        OSError: If any file is missing or does not decode; the message
            names the unreadable paths.
    """
    bad = []
    for path in paths:
        try:
            img = mmcv.imfrombytes(get(path))
        except Exception as error:  # any decoder failure: unreadable
            bad.append(f'{path} ({error.__class__.__name__})')
            continue
        if img is None:
            bad.append(f'{path} (not a decodable image)')
    if bad:
        listed = '\n  '.join(bad[:max_listed])
        more = (f'\n  ... and {len(bad) - max_listed} more'
                if len(bad) > max_listed else '')
        raise OSError(f'{len(bad)} of {len(paths)} images cannot be read:'
                      f'\n  {listed}{more}')
    MMLogger.get_current_instance().info(
        f'Checked {len(paths)} images: all decode.')
