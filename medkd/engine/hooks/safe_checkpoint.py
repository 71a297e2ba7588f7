import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from medkd.registry import HOOKS


def _to_plain(value):
    """Turn numpy values into Python scalars or tensors, recursively."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_plain(v) for v in value)
    return value


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Keep checkpoints loadable with ``torch.load(weights_only=True)``.

    mmengine stores the message hub's :class:`HistoryBuffer` objects and numpy
    values in every checkpoint; the weights-only unpickler refuses both. Before
    a checkpoint is saved this hook replaces them with plain containers
    (``{'log_history': tensor, 'count_history': tensor, 'max_length': int}``)
    and after one is loaded it rebuilds the buffers, so ``--resume`` restores
    the logged history exactly. Checkpoints written without this hook that
    contain such objects are refused by
    :func:`medkd.utils.checkpoint.safe_load`.

    :class:`~medkd.engine.runner.MedKDRunner` registers it automatically.
    """

    priority = 'VERY_LOW'  # runs after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is not None:
            scalars = {}
            for key, buffer in hub['log_scalars'].items():
                log, count = buffer.data
                scalars[key] = dict(
                    log_history=torch.from_numpy(np.asarray(log)),
                    count_history=torch.from_numpy(np.asarray(count)),
                    max_length=int(buffer.max_length))
            hub['log_scalars'] = scalars
            hub['runtime_info'] = _to_plain(hub['runtime_info'])
        checkpoint['meta'] = _to_plain(checkpoint.get('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is None:
            return
        for key, value in hub['log_scalars'].items():
            if isinstance(value, dict):
                hub['log_scalars'][key] = HistoryBuffer(
                    value['log_history'].tolist(),
                    value['count_history'].tolist(), value['max_length'])
