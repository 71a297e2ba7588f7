"""The console shows a few metrics; the JSON log keeps all of them."""
import glob
import json

from medkd.apis import build_runner
from conftest import tiny_runner_cfg

STUDENT = 'configs/demo/convnet_student_cells.py'


def test_console_lines_are_short_and_json_keeps_every_metric(tmp_path):
    cfg = tiny_runner_cfg(STUDENT, tmp_path / 'w', tmp_path / 'data',
                          epochs=1)
    assert cfg.log_processor.type == 'MedKDLogProcessor'
    build_runner(cfg).train()
    (log, ) = glob.glob(str(tmp_path / 'w' / '*' / '*.log'))
    val_lines = [line for line in open(log) if 'Epoch(val) [1][' in line
                 and 'medical/' in line]
    assert val_lines
    line = val_lines[-1]
    for shown in ('medical/accuracy:', 'medical/f1_weighted:',
                  'medical/auc:', 'medical/ece:'):
        assert shown in line
    assert 'medical/precision_macro' not in line
    assert len(line) < 300
    (scalars, ) = glob.glob(str(tmp_path / 'w' / '*' / 'vis_data' /
                                'scalars.json'))
    logged = [json.loads(r) for r in open(scalars)]
    val = [r for r in logged if 'medical/accuracy' in r]
    assert 'medical/precision_macro' in val[-1]
    assert 'medical/specificity_weighted' in val[-1]
