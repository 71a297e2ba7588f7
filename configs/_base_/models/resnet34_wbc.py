# ResNet-34 on one 3-channel modality, 5 WBC classes (seed 002: 21.287M
# parameters, 3670.75M FLOPs at 224x224).
resnet34_wbc = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=34, in_channels=3, num_stages=4,
                  out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=5,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
