# ConvNeXt-B teacher for C-NMC 2019 (2 classes). The backbone pools before its
# final norm, so no neck.
convnext_base_cnmc = dict(
    type='ImageClassifier',
    backbone=dict(type='ConvNeXt', arch='base', drop_path_rate=0.3),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
