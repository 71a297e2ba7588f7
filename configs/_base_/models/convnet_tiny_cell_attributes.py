# The tiny 3-block convnet with 5 sigmoid outputs (the teacher-assistant
# demo's student). Block outputs 0-2: 8 / 16 / 32 channels at strides
# 2 / 4 / 8.
convnet_tiny_cell_attributes = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', channels=(8, 16, 32),
                  kernel_sizes=(5, 3, 3), out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=5,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
