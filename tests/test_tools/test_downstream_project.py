"""A downstream project outside the repository inherits medkd's configs
with ``medkd::`` and registers its own module through custom_imports."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_downstream_config_inherits_medkd_and_trains(tmp_path):
    project = tmp_path / 'my_project'
    project.mkdir()
    (project / '__init__.py').write_text('')
    (project / 'hooks.py').write_text(textwrap.dedent('''
        from mmengine.hooks import Hook
        from medkd.registry import HOOKS


        @HOOKS.register_module()
        class MarkerHook(Hook):

            def after_train(self, runner):
                with open(runner.work_dir + '/marker.txt', 'w') as f:
                    f.write(str(runner.epoch))
        '''))
    data = repr(str(tmp_path / 'data'))
    loader = ('dict(batch_size=8, num_workers=0, persistent_workers=False, '
              f'dataset=dict(data_root={data}, num_per_class=(8, 4, 4), '
              'image_size=16, pipeline=_base_.test_pipeline))')
    (tmp_path / 'my_config.py').write_text(textwrap.dedent(f'''
        _base_ = ['medkd::demo/convnet_student_cells.py']
        custom_imports = dict(imports=['my_project.hooks'],
                              allow_failed_imports=False)
        custom_hooks = [dict(type='MarkerHook')]
        train_dataloader = {loader}
        val_dataloader = {loader}
        test_dataloader = {loader}
        train_cfg = dict(max_epochs=1)
        '''))
    # no PYTHONPATH: the tool makes the current directory importable
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
         'my_config.py', '--work-dir', 'work'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    assert (tmp_path / 'work' / 'marker.txt').read_text() == '1'
