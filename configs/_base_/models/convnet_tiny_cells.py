# A tiny 3-block convnet (the demo student, ~7k parameters).
convnet_tiny_cells = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', channels=(8, 16, 32),
                  kernel_sizes=(5, 3, 3)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=4,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
