"""Tools that build a model from a config predict what tools/test.py
predicts: they apply the config's data preprocessor."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from medkd.apis import build_runner
from medkd.apis.inference import build_model
from medkd.evaluation.dumped_results import config_class_names, load_results
from conftest import run_tool, tiny_runner_cfg, write_tiny_config

STUDENT = 'configs/demo/convnet_student_cells.py'


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tools')
    cfg = tiny_runner_cfg(STUDENT, tmp / 'train', tmp / 'data', epochs=2)
    build_runner(cfg).train()
    config = write_tiny_config(tmp / 'student.py', STUDENT, tmp / 'data')
    mp = pytest.MonkeyPatch()
    run_tool(mp, 'test.py', config, tmp / 'train' / 'epoch_2.pth',
             '--work-dir', tmp / 'test', '--out', tmp / 'test.pkl')
    mp.undo()
    return tmp, config, str(tmp / 'train' / 'epoch_2.pth')


def test_shared_builder_applies_the_config_preprocessor(trained):
    tmp, config, ckpt = trained
    cfg = Config.fromfile(config)
    model = build_model(cfg, ckpt)
    assert model.data_preprocessor.to_rgb
    torch.testing.assert_close(
        model.data_preprocessor.mean.flatten(),
        torch.tensor(cfg.data_preprocessor.mean))


def test_vis_cam_predictions_equal_tools_test(trained, monkeypatch, capsys):
    tmp, config, ckpt = trained
    results = load_results(str(tmp / 'test.pkl'))[:3]
    images = [r['img_path'] for r in results]
    run_tool(monkeypatch, 'visualization/vis_cam.py', config, ckpt, *images,
             '--out-dir', tmp / 'cam')
    out = capsys.readouterr().out
    names = config_class_names(Config.fromfile(config))
    for result in results:
        row = next(line for line in out.splitlines()
                   if osp.basename(result['img_path']) in line)
        name, prob = re.search(r'\|\s*(\S+) \((\d\.\d\d)\)', row).groups()
        score = result['pred_score']
        assert float(prob) == pytest.approx(float(score.max()), abs=0.006)
        assert name == names[int(score.argmax())]
