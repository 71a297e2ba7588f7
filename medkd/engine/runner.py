import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.runner import Runner

from medkd.registry import RUNNERS


def adapt_dataloader_cfg(dataloader):
    """Make DataLoader settings fit the machine (in place, returns the cfg).

    ``persistent_workers=True`` is an error with ``num_workers=0``; pinned
    memory only helps with CUDA.
    """
    if not isinstance(dataloader, dict):
        return dataloader
    if dataloader.get('num_workers', 0) == 0:
        dataloader['persistent_workers'] = False
    dataloader.setdefault('pin_memory', torch.cuda.is_available())
    return dataloader


@RUNNERS.register_module()
class MedKDRunner(Runner):
    """mmengine's Runner with medkd's environment fixes.

    - checkpoints stay loadable with ``weights_only=True``: a
      :class:`~medkd.engine.hooks.SafeCheckpointHook` is always registered;
    - distributed training without CUDA (``torchrun`` on CPUs): the ``gloo``
      process group is initialised here and DDP wraps the model with
      ``device_ids=None`` (mmengine would call ``torch.cuda.set_device``);
    - ``num_workers=0`` with ``persistent_workers=True`` is corrected.

    Selected with ``runner_type = 'MedKDRunner'`` (set in
    ``configs/_base_/default_runtime.py``); takes the same arguments as
    :class:`mmengine.runner.Runner`.
    """

    def __init__(self, *args, **kwargs):
        launcher = kwargs.get('launcher', 'none')
        if launcher != 'none' and not torch.cuda.is_available():
            if not torch_dist.is_initialized():
                torch_dist.init_process_group(backend='gloo')
            cfg = kwargs.get('cfg') or Config()
            wrapper = dict(cfg.get('model_wrapper_cfg') or {})
            wrapper.setdefault('type', 'MMDistributedDataParallel')
            wrapper.update(device_ids=None, broadcast_buffers=False)
            cfg.model_wrapper_cfg = wrapper
            kwargs['cfg'] = cfg
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            adapt_dataloader_cfg(kwargs.get(key))
        custom_hooks = list(kwargs.get('custom_hooks') or [])
        if not any(_hook_type(h) == 'SafeCheckpointHook'
                   for h in custom_hooks):
            custom_hooks.append(dict(type='SafeCheckpointHook'))
        kwargs['custom_hooks'] = custom_hooks
        super().__init__(*args, **kwargs)


def _hook_type(hook):
    if isinstance(hook, dict):
        return str(hook.get('type', '')).split('.')[-1]
    return type(hook).__name__
