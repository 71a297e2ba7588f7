"""medkd: knowledge distillation for medical images, the OpenMMLab way."""
import warnings

from .version import __version__

# mmcv-lite has no compiled ops; mmpretrain warns about one it never needs.
warnings.filterwarnings(
    'ignore', message='.*MultiScaleDeformableAttention.*')


def _register_config_package() -> None:
    """Let configs inherit medkd's: ``_base_ = ['medkd::demo/x.py']``.

    mmengine resolves ``<package>::<path>`` for the packages in its
    ``MODULE2PACKAGE`` table, under ``<installed package>/.mim/configs``
    (OpenMMLab's layout; medkd ships ``medkd/.mim/configs``). Its package
    lookup (``pkg_resources`` location + name) misses packages installed
    in editable mode, so for medkd the lookup returns this package's folder.
    """
    import os.path as osp

    import mmengine.config.config as mmengine_config
    from mmengine.config.utils import MODULE2PACKAGE

    MODULE2PACKAGE.setdefault('medkd', 'medkd')
    lookup = mmengine_config.get_installed_path
    if getattr(lookup, '_medkd', False):
        return
    here = osp.dirname(osp.abspath(__file__))

    def get_installed_path(package: str) -> str:
        return here if package == 'medkd' else lookup(package)

    get_installed_path._medkd = True
    mmengine_config.get_installed_path = get_installed_path


_register_config_package()

__all__ = ['__version__']
