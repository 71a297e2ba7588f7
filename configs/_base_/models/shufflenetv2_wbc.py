# ShuffleNetV2 (1.0x) on one 3-channel modality, 5 WBC classes (seed 002:
# 1.259M parameters, 147.79M FLOPs at 224x224). ShuffleNetV2MultiInput is
# mmpretrain's ShuffleNetV2 with an in_channels argument, so early fusion and
# MM-MIMO only change in_channels.
shufflenetv2_wbc = dict(
    type='ImageClassifier',
    backbone=dict(type='ShuffleNetV2MultiInput', in_channels=3,
                  widen_factor=1.0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=5,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
