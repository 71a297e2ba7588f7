# MixNet-L (timm architecture, 5.80M parameters) for Kather 2016 (8 classes),
# the CheckpointSequence teacher. No download: pretrained=False (the paper
# fine-tunes ImageNet weights; for that add
# backbone=dict(checkpoint_path='<local timm mixnet_l .pth>')).
# TIMMBackbone returns the (N, 1536, H/32, W/32) feature map: pooled by the
# neck, classified by the head.
mixnet_l_kather = dict(
    type='ImageClassifier',
    backbone=dict(
        type='TIMMBackbone',
        model_name='mixnet_l',
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
