# MixNet-S (timm architecture, 2.61M parameters) for Kather 2016 (8 classes),
# the CheckpointSequence student, trained from scratch as in the paper.
mixnet_s_kather = dict(
    type='ImageClassifier',
    backbone=dict(
        type='TIMMBackbone',
        model_name='mixnet_s',
        pretrained=False,
        num_classes=0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8,
        in_channels=1536,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
