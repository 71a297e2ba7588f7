# ResNet-18 with 5 sigmoid outputs (the teacher-assistant demo's teacher).
# Stage outputs 0-3: 64 / 128 / 256 / 512 channels at strides 4 / 8 / 16 / 32.
resnet18_cell_attributes = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=5,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
