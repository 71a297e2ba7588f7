import pytest

from medkd.utils import register_all_modules


@pytest.fixture(autouse=True, scope='session')
def _register_medkd():
    register_all_modules(init_default_scope=True)


def tiny_classifier(num_classes=3, channels=(4, 8), in_channels=3,
                    multi_label=False):
    """An ImageClassifier config small enough for CPU unit tests."""
    head = dict(
        type='MultiLabelLinearClsHead' if multi_label else 'LinearClsHead',
        num_classes=num_classes, in_channels=channels[-1])
    if not multi_label:
        head['topk'] = (1, )
    return dict(
        type='ImageClassifier',
        backbone=dict(type='SimpleConvNet', in_channels=in_channels,
                      channels=channels, kernel_sizes=(3, ) * len(channels)),
        neck=dict(type='GlobalAveragePooling'),
        head=head)
