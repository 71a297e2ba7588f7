"""Importing medkd changes nothing in mmengine for other packages: the
``medkd::`` config lookup and the safe checkpoint loaders are in force only
while medkd loads a config / runs (before, importing medkd replaced
``mmengine.config.config.get_installed_path`` and mmengine's checkpoint
loaders for the whole process)."""
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _python(code, cwd):
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                            cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_importing_medkd_leaves_mmengine_as_it_was(tmp_path):
    out = _python('''
        import mmengine.config.config as config
        import mmengine.runner.checkpoint as checkpoint
        from mmengine.runner.checkpoint import CheckpointLoader
        lookup, http = config.get_installed_path, checkpoint.load_from_http
        local = CheckpointLoader._get_checkpoint_loader('x.pth')
        import medkd
        from medkd.utils import register_all_modules
        from medkd.utils.checkpoint import safe_checkpoint_loaders
        register_all_modules()
        print(config.get_installed_path is lookup,
              checkpoint.load_from_http is http,
              CheckpointLoader._get_checkpoint_loader('x.pth') is local)
        with safe_checkpoint_loaders():
            with safe_checkpoint_loaders():  # re-entrant
                pass
            inside = CheckpointLoader._get_checkpoint_loader('x.pth')
            print(inside is not local, checkpoint.load_from_http is not http)
        try:
            with safe_checkpoint_loaders():
                raise KeyError
        except KeyError:
            pass
        print(CheckpointLoader._get_checkpoint_loader('x.pth') is local,
              checkpoint.load_from_http is http,
              CheckpointLoader._get_checkpoint_loader('https://a/b.pth')
              is http)
        ''', cwd=str(tmp_path))
    assert out.split() == ['True'] * 8


def test_medkd_configs_load_from_outside_the_repository(tmp_path):
    """``load_config`` resolves ``medkd::`` also for an editable install
    seen from another folder (mmengine alone looks in site-packages)."""
    (tmp_path / 'mine.py').write_text(
        "_base_ = ['medkd::demo/convnet_student_cells.py']\n"
        'train_cfg = dict(max_epochs=3)\n')
    out = _python(f'''
        import mmengine.config.config as config
        lookup = config.get_installed_path
        from medkd.utils.config import load_config
        cfg = load_config({str(tmp_path / 'mine.py')!r})
        print(cfg.train_cfg.max_epochs, cfg.model.type,
              config.get_installed_path is lookup)
        ''', cwd=str(tmp_path))
    assert out.split() == ['3', 'ImageClassifier', 'True']


def test_an_unsafe_load_from_is_refused_inside_a_run(tmp_path):
    """The safe loaders are in force in a run: ``load_from`` of a file
    whose pickle runs code is refused naming the file."""
    from medkd.apis import build_runner
    from medkd.utils.checkpoint import UnsafeCheckpointError
    from conftest import tiny_runner_cfg
    import torch

    class Payload:

        def __reduce__(self):
            return (print, ('code ran', ))

    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, str(evil))
    cfg = tiny_runner_cfg(osp.join(ROOT, 'configs/demo/'
                                   'convnet_student_cells.py'),
                          tmp_path / 'w', tmp_path / 'data', epochs=1)
    cfg.load_from = str(evil)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        build_runner(cfg).test()
