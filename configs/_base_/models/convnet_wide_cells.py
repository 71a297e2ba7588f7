# A wider 4-block convnet (the second demo teacher, a different inductive
# bias from ResNet-18's).
convnet_wide_cells = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', channels=(32, 64, 128, 128),
                  kernel_sizes=(5, 3, 3, 3)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=4,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
