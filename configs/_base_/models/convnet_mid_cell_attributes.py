# A mid-size 4-block convnet with 5 sigmoid outputs (the teacher-assistant
# demo's assistant). Block outputs 0-3: 16 / 32 / 64 / 128 channels at
# strides 2 / 4 / 8 / 16.
convnet_mid_cell_attributes = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', channels=(16, 32, 64, 128),
                  kernel_sizes=(5, 3, 3, 3), out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=5,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
