import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every medkd (and mmpretrain) module so that it is registered.

    Args:
        init_default_scope (bool): Whether to make ``'medkd'`` the default
            scope, so that unprefixed type names resolve in medkd's registries
            first and in mmpretrain's after. Defaults to True.
    """
    from mmpretrain.utils import register_all_modules as register_mmpretrain
    register_mmpretrain(init_default_scope=False)

    import medkd.datasets  # noqa: F401
    import medkd.engine  # noqa: F401
    import medkd.evaluation  # noqa: F401
    import medkd.models  # noqa: F401

    if not init_default_scope:
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('medkd', scope_name='medkd')
    elif current_scope.scope_name != 'medkd':
        warnings.warn(f'The current default scope "{current_scope.scope_name}"'
                      ' is not "medkd"; register_all_modules switches it to '
                      '"medkd".')
        DefaultScope.get_instance(
            f'medkd-{datetime.datetime.now()}', scope_name='medkd')
