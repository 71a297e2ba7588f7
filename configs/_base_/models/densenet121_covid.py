# DenseNet-121, the assistant of the COVID case study (3 classes). Stage
# outputs 0-3 have 128 / 256 / 512 / 1024 channels (stage 3 feeds the head).
densenet121_covid = dict(
    type='ImageClassifier',
    backbone=dict(type='DenseNet', arch='121', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=3,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
