# The teacher-assistant paper's 3-block student for the COVID case study
# (3 classes): Conv5x5-64, Conv3x3-64, Conv3x3-128 (BN-ReLU-MaxPool2 each),
# GAP, linear.
convnet3_covid = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', channels=(64, 64, 128),
                  kernel_sizes=(5, 3, 3), out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=3,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
