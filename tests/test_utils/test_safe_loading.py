"""No file medkd reads can run code: results dumps and URL checkpoints."""
import os
import os.path as osp
import pickle
import runpy
import sys

import mmengine
import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from medkd.evaluation.dumped_results import load_predictions, load_results
from medkd.utils.checkpoint import (UnsafeCheckpointError, hub_cache_path,
                                    safe_checkpoint_loaders)
from medkd.utils.safe_pickle import UnsafeFileError, safe_pickle_load

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GATED = 'configs/demo/gated_resnet18_convnet_cells.py'


class _Exploit:
    """Creates a folder when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target, ))


def _crafted_dump(tmp_path):
    target = tmp_path / 'pwned'
    samples = [
        dict(pred_score=torch.tensor([0.2, 0.8]), gt_label=torch.tensor([1]),
             gate_weights=torch.tensor([0.5, 0.5]),
             payload=_Exploit(str(target)))
    ]
    path = tmp_path / 'evil.pkl'
    mmengine.dump(samples, str(path))
    return path, target


def test_an_mmengine_dump_of_tensors_and_arrays_loads(tmp_path):
    samples = [
        dict(pred_score=torch.tensor([0.25, 0.75]),
             gt_label=torch.tensor([1]), img_path='a/b.png',
             ori_shape=(32, 32), arr=np.arange(3, dtype=np.float32),
             scalar=np.float64(0.5), flags={1, 2}, num=3)
    ]
    path = tmp_path / 'ok.pkl'
    mmengine.dump(samples, str(path))
    (loaded, ) = safe_pickle_load(str(path))
    torch.testing.assert_close(loaded['pred_score'],
                               torch.tensor([0.25, 0.75]))
    np.testing.assert_array_equal(loaded['arr'], np.arange(3))
    assert loaded['img_path'] == 'a/b.png' and loaded['num'] == 3
    assert loaded['scalar'] == 0.5 and loaded['flags'] == {1, 2}
    preds = load_predictions(str(path))
    np.testing.assert_allclose(preds.scores, [[0.25, 0.75]])
    assert preds.labels.tolist() == [1]


def test_a_crafted_dump_is_refused_and_runs_nothing(tmp_path):
    path, target = _crafted_dump(tmp_path)
    with pytest.raises(UnsafeFileError, match='evil.pkl.*posix.mkdir'):
        load_results(str(path))
    assert not target.exists()


def test_a_nested_tensor_blob_that_runs_code_is_refused(tmp_path):
    """A tensor's storage is a nested torch.save blob: it is loaded with
    weights_only=True, not with torch's default unpickler for blobs."""
    target = tmp_path / 'pwned_blob'
    inner = tmp_path / 'inner.pt'
    torch.save(_Exploit(str(target)), inner, _use_new_zipfile_serialization=False)
    blob = inner.read_bytes()

    class _Blob:

        def __reduce__(self):
            return (torch.storage._load_from_bytes, (blob, ))

    path = tmp_path / 'blob.pkl'
    with open(path, 'wb') as f:
        pickle.dump([dict(x=_Blob())], f)
    with pytest.raises(UnsafeFileError):
        load_results(str(path))
    assert not target.exists()


def _run(monkeypatch, tool, *args):
    monkeypatch.setattr(sys, 'argv', [tool, *map(str, args)])
    runpy.run_path(osp.join(ROOT, 'tools', tool), run_name='__main__')


@pytest.mark.parametrize('tool, extra', [
    ('analysis_tools/metrics_report.py', ()),
    ('analysis_tools/confusion_matrix.py', ('config', )),
    ('analysis_tools/gate_report.py', ('config', )),
    ('analysis_tools/compare_predictions.py', ('twice', )),
    ('analysis_tools/reliability_diagram.py', ('out', )),
])
def test_every_tool_reading_a_dump_refuses_a_crafted_one(
        tmp_path, monkeypatch, tool, extra):
    path, target = _crafted_dump(tmp_path)
    args = {
        (): [path],
        ('config', ): [osp.join(ROOT, GATED), path],
        ('twice', ): [path, path],
        ('out', ): [path, '--out', tmp_path / 'diagram.png'],
    }[extra]
    with pytest.raises(UnsafeFileError, match='evil.pkl'):
        _run(monkeypatch, tool, *args)
    assert not target.exists()


@pytest.fixture
def hub_dir(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    yield tmp_path / 'hub'
    torch.hub.set_dir(old)


def _plant(path, payload):
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(payload, path)


def test_url_checkpoint_in_the_hub_cache_is_loaded_safely(tmp_path, hub_dir):
    url = 'https://example.invalid/models/good.pth'
    _plant(hub_cache_path(url), {'state_dict': {'w': torch.ones(2)}})
    with safe_checkpoint_loaders():  # as in every medkd run
        ckpt = CheckpointLoader.load_checkpoint(url, map_location='cpu')
    torch.testing.assert_close(ckpt['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize('name, url', [
    ('https://example.invalid/models/evil.pth',
     'https://example.invalid/models/evil.pth'),
    ('torchvision://resnet18', None),
])
def test_url_checkpoint_that_runs_code_is_refused(tmp_path, hub_dir, name,
                                                  url):
    if url is None:  # mmengine's name -> URL table
        from mmengine.runner.checkpoint import get_torchvision_models
        url = get_torchvision_models()['resnet18']
    target = tmp_path / 'pwned'
    _plant(hub_cache_path(url), {'state_dict': {}, 'x': _Exploit(str(target))})
    with pytest.raises(UnsafeCheckpointError, match='posix.mkdir'):
        with safe_checkpoint_loaders():  # as in every medkd run
            CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert not target.exists()
