# The teacher-assistant paper's student (CheXpert, 14 sigmoid outputs): 3 conv
# blocks, Conv5x5-64, Conv3x3-64, Conv3x3-128, each BN-ReLU-MaxPool2 (64 /
# 64 / 128 channels at strides 2 / 4 / 8), then GAP and a linear layer.
convnet3_chexpert = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', channels=(64, 64, 128),
                  kernel_sizes=(5, 3, 3), out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=14,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
)
