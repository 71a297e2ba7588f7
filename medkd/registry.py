"""medkd's registries.

Every registry is a child of the matching mmpretrain registry, so a config
with ``default_scope='medkd'`` resolves medkd's own modules first and falls
back to mmpretrain's (``'ResNet'``, ``'ImageClassifier'``, ``'RandAugment'``,
``'Accuracy'``) and, through mmpretrain, to mmengine's.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
    'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS', 'METRICS',
    'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]


def _child(name: str, parent: Registry, locations=()) -> Registry:
    return Registry(
        name, parent=parent, scope='medkd', locations=list(locations))


RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, ['medkd.engine'])
LOOPS = _child('loop', mmpretrain_registry.LOOPS, ['medkd.engine'])
HOOKS = _child('hook', mmpretrain_registry.HOOKS, ['medkd.engine.hooks'])
LOG_PROCESSORS = _child('log processor',
                        mmpretrain_registry.LOG_PROCESSORS, ['medkd.engine'])
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS,
                    ['medkd.engine'])
OPTIM_WRAPPERS = _child('optim wrapper', mmpretrain_registry.OPTIM_WRAPPERS,
                        ['medkd.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, ['medkd.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmpretrain_registry.PARAM_SCHEDULERS,
                          ['medkd.engine'])
DATASETS = _child('dataset', mmpretrain_registry.DATASETS, ['medkd.datasets'])
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS,
                       ['medkd.datasets'])
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS,
                    ['medkd.datasets'])
MODELS = _child('model', mmpretrain_registry.MODELS, ['medkd.models'])
MODEL_WRAPPERS = _child('model wrapper', mmpretrain_registry.MODEL_WRAPPERS,
                        ['medkd.models'])
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmpretrain_registry.WEIGHT_INITIALIZERS,
                             ['medkd.models'])
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS,
                        ['medkd.models'])
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS,
                    ['medkd.models'])
METRICS = _child('metric', mmpretrain_registry.METRICS,
                 ['medkd.evaluation'])
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS,
                    ['medkd.evaluation'])
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS,
                     [])
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS,
                     [])
