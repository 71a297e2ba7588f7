# EfficientNet-B7, the other half of the teacher ensemble of the
# teacher-assistant paper (CheXpert, 14 sigmoid outputs). Stage outputs 2-6
# have 48 / 80 / 224 / 640 / 2560 channels at strides 4 / 8 / 16 / 32 / 32
# (stage 6 feeds the head).
efficientnet_b7_chexpert = dict(
    type='ImageClassifier',
    backbone=dict(type='EfficientNet', arch='b7', out_indices=(6, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=14,
        in_channels=2560,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
