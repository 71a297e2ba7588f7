# DenseNet-121, the assistant of the teacher-assistant paper (CheXpert, 14
# sigmoid outputs). Stage outputs 0-3 have 128 / 256 / 512 / 1024 channels at
# strides 8 / 16 / 32 / 32 (stage 3 feeds the head).
densenet121_chexpert = dict(
    type='ImageClassifier',
    backbone=dict(type='DenseNet', arch='121', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=14,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
