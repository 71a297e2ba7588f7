import torch

from medkd.apis import build_runner
from conftest import tiny_runner_cfg


def test_workers_are_released_after_train_and_test(tmp_path):
    cfg = tiny_runner_cfg('configs/demo/convnet_student_cells.py',
                          tmp_path / 'work', tmp_path / 'data', epochs=1)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].update(num_workers=2,
                                          persistent_workers=True)
    runner = build_runner(cfg)
    runner.train()
    loader = runner.train_dataloader
    assert loader.num_workers == 2 and loader.persistent_workers
    assert loader._iterator is None and runner.val_dataloader._iterator is None
    runner.test()
    assert runner.test_dataloader._iterator is None


def test_dataloader_defaults_fit_the_machine(tmp_path):
    cfg = tiny_runner_cfg('configs/demo/convnet_student_cells.py',
                          tmp_path / 'work', tmp_path / 'data', epochs=1)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=True)
    cfg.val_dataloader.update(num_workers=1)
    cfg.val_dataloader.pop('persistent_workers', None)
    runner = build_runner(cfg)
    assert runner.cfg.train_dataloader.num_workers == 0
    train = runner.train_dataloader
    assert not train.persistent_workers  # would raise with 0 workers
    assert runner.val_dataloader.persistent_workers
    assert train.pin_memory == torch.cuda.is_available()


def test_two_runs_of_one_config_in_one_second_keep_their_own_logs(tmp_path):
    runners = [
        build_runner(
            tiny_runner_cfg('configs/demo/convnet_student_cells.py',
                            tmp_path / f'work{i}', tmp_path / 'data'))
        for i in range(2)
    ]
    names = [r.experiment_name for r in runners]
    assert names[0] != names[1]  # '<config>_<ts>' vs '<config>_2_<ts>'
    for i, runner in enumerate(runners):
        save_dir = runner.visualizer._vis_backends[
            'LocalVisBackend']._save_dir
        assert save_dir.startswith(str(tmp_path / f'work{i}'))
