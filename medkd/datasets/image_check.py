"""Up-front check that image files decode, for ``check_images=True``.

At load time mmpretrain's ``LoadImageFromFile`` already names the path of a
missing file (``FileNotFoundError``) or of one that does not decode
(``AssertionError: failed to load image: <path>``). This check finds such files
before training starts, all of them at once.
"""
from typing import Sequence

from mmengine.logging import MMLogger

from .preflight import decode_image


def verify_images(paths: Sequence[str], max_listed: int = 10) -> None:
    """Decode every image the way ``LoadImageFromFile`` does (the same
    decoding as the runner's pre-flight check,
    :func:`medkd.datasets.preflight.decode_image`).

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
        _, _, reason = decode_image((path, 'color', 'cv2'))
        if reason:
            bad.append(f'{path} ({reason})')
    if bad:
        listed = '\n  '.join(bad[:max_listed])
        more = (f'\n  ... and {len(bad) - max_listed} more'
                if len(bad) > max_listed else '')
        raise OSError(f'{len(bad)} of {len(paths)} images cannot be read:'
                      f'\n  {listed}{more}')
    MMLogger.get_current_instance().info(
        f'Checked {len(paths)} images: all decode.')
