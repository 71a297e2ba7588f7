from .train import build_runner, enable_amp, set_work_dir

__all__ = ['build_runner', 'enable_amp', 'set_work_dir']
