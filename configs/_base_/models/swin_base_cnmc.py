# Swin-B teacher for C-NMC 2019 (2 classes: hem, all). For ImageNet weights
# add backbone init_cfg=dict(type='Pretrained', checkpoint=<local .pth>,
# prefix='backbone') (no download happens at run time).
swin_base_cnmc = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SwinTransformer', arch='base', img_size=224, drop_path_rate=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
