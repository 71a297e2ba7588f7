# EfficientNet-B6, one half of the teacher ensemble of the teacher-assistant
# paper (CheXpert, 14 sigmoid outputs). Stage outputs 2-6 have 40 / 72 / 200 /
# 576 / 2304 channels at strides 4 / 8 / 16 / 32 / 32 (stage 6 feeds the
# head).
efficientnet_b6_chexpert = dict(
    type='ImageClassifier',
    backbone=dict(type='EfficientNet', arch='b6', out_indices=(6, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=14,
        in_channels=2304,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
