"""Loading configs, including those that inherit medkd's
(``_base_ = ['medkd::demo/x.py']``, OpenMMLab's ``<package>::`` form).

Importing medkd makes one change to mmengine: the entry ``'medkd'`` in
``mmengine.config.utils.MODULE2PACKAGE``, mmengine's table of the packages
whose configs ``<package>::<path>`` may name (it adds an entry, never
replaces one). mmengine then looks for the files under
``<distribution location>/<package>/.mim/configs``; for an editable install
(``pip install -e .``) the distribution's location is site-packages, where
no ``medkd`` folder exists, so the lookup fails. :func:`load_config`, which
every medkd tool and teacher ``config=`` entry loads through, points the
lookup at this package's folder **while it loads** and puts mmengine's own
back afterwards (:func:`medkd_config_paths`); nothing else in the process
sees a change. A regular install needs none of this.
"""
import contextlib
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

__all__ = ['load_config', 'medkd_config_paths', 'register_config_package']

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def register_config_package() -> None:
    """Add medkd to mmengine's table of config packages (idempotent)."""
    MODULE2PACKAGE.setdefault('medkd', 'medkd')


@contextlib.contextmanager
def medkd_config_paths():
    """While inside, mmengine resolves ``medkd::<path>`` to this package's
    ``.mim/configs`` (editable installs included); mmengine's lookup is
    restored on exit, also after an error."""
    import mmengine.config.config as mmengine_config
    lookup = mmengine_config.get_installed_path

    def get_installed_path(package: str) -> str:
        return PACKAGE_DIR if package == 'medkd' else lookup(package)

    register_config_package()
    mmengine_config.get_installed_path = get_installed_path
    try:
        yield
    finally:
        mmengine_config.get_installed_path = lookup


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """``load_config(path)`` with ``medkd::`` bases resolved, then
    ``--cfg-options`` style overrides merged in.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``{'a.b': value}`` overrides.
    """
    with medkd_config_paths():
        cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
