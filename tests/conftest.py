import os
import tempfile

import pytest

from medkd.utils import register_all_modules

# the pre-flight image check's results stay out of the user's ~/.cache
os.environ.setdefault('MEDKD_CACHE_DIR',
                      tempfile.mkdtemp(prefix='medkd-test-cache-'))


@pytest.fixture(autouse=True, scope='session')
def _register_medkd():
    register_all_modules(init_default_scope=True)


KD_DEMO = 'configs/demo/kd_resnet18_convnet_cells.py'


@pytest.fixture
def teacher_ckpt(tmp_path):
    """The demo KD config's ResNet-18 teacher with seeded random weights,
    saved as ``tmp_path/teacher.pth``; returns the path."""
    import torch
    from mmengine.config import Config

    from medkd.registry import MODELS
    torch.manual_seed(3)
    teacher = MODELS.build(Config.fromfile(KD_DEMO).resnet18_cells)
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


def shifted_checkpoint(path, out, shift=1.0):
    """A copy of classifier checkpoint ``path`` at ``out`` whose head bias
    is ``shift`` larger: every logit moves by ``shift``."""
    import torch
    state = torch.load(path, weights_only=True)
    state['state_dict']['head.fc.bias'] += shift
    torch.save(state, str(out))
    return str(out)


def train_command(cfg, work_dir):
    """``python tools/train.py CFG --work-dir WORK`` as an argv list."""
    import os.path as osp
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return [sys.executable, osp.join(root, 'tools', 'train.py'), str(cfg),
            '--work-dir', str(work_dir)]


def tiny_classifier(num_classes=3,
                    channels=(4, 8),
                    in_channels=3,
                    multi_label=False):
    """An ImageClassifier config small enough for CPU unit tests."""
    head = dict(
        type='MultiLabelLinearClsHead' if multi_label else 'LinearClsHead',
        num_classes=num_classes,
        in_channels=channels[-1])
    if not multi_label:
        head['topk'] = (1, )
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='SimpleConvNet',
            in_channels=in_channels,
            channels=channels,
            kernel_sizes=(3, ) * len(channels)),
        neck=dict(type='GlobalAveragePooling'),
        head=head)


def tiny_runner_cfg(config, work_dir, data_root, epochs=2, **overrides):
    """A demo config shrunk to seconds: 16 px images, a few per class,
    no random augmentation (so runs are reproducible), no multiprocessing."""
    import os.path as osp

    from mmengine.config import Config

    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, config))
    cfg.work_dir = str(work_dir)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.update(
            data_root=str(data_root),
            num_per_class=(8, 4, 4),
            image_size=16,
            pipeline=cfg.test_pipeline)
        loader.update(batch_size=8, num_workers=0)
    cfg.train_cfg.max_epochs = epochs
    cfg.default_hooks.logger.interval = 1
    cfg.merge_from_dict(overrides)
    return cfg


def write_tiny_config(path, config, data_root, epochs=1, extra=''):
    """Write a config file inheriting ``config`` (relative to the repo root)
    with the same shrinking as :func:`tiny_runner_cfg`; returns its path."""
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              "dataset=dict(data_root=%r, num_per_class=(8, 4, 4), "
              "image_size=16, pipeline=_base_.test_pipeline))" %
              str(data_root))
    text = '\n'.join([
        f'_base_ = [{osp.join(root, config)!r}]',
        f'train_dataloader = {loader}',
        f'val_dataloader = {loader}',
        f'test_dataloader = {loader}',
        f'train_cfg = dict(max_epochs={epochs})',
        'default_hooks = dict(logger=dict(interval=1))',
        extra,
    ])
    with open(path, 'w') as f:
        f.write(text + '\n')
    return str(path)


def run_tool(monkeypatch, tool, *args):
    """Run ``tools/<tool>`` as ``python tools/<tool> args...`` in-process."""
    import os.path as osp
    import runpy
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    monkeypatch.setattr(sys, 'argv', [tool, *map(str, args)])
    runpy.run_path(osp.join(root, 'tools', tool), run_name='__main__')


def free_port():
    """A TCP port nothing listens on now (for a process group's master)."""
    import socket
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def torchrun(tool, *args, nproc=2, timeout=600):
    """``python -m torch.distributed.run --nproc_per_node N tools/<tool>
    args`` on the CPU; returns the finished process (output captured)."""
    import os.path as osp
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         str(nproc), f'--master_port={free_port()}',
         osp.join(root, 'tools', tool), *map(str, args)],
        capture_output=True, text=True, timeout=timeout)


class LogRecords:
    """A logging handler keeping every message, for asserting on what a
    logger (e.g. an MMLogger instance) said."""

    def __new__(cls):
        import logging

        class _Handler(logging.Handler):

            def __init__(self):
                super().__init__()
                self.messages = []

            def emit(self, record):
                self.messages.append(record.getMessage())

        return _Handler()
