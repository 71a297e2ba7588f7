# The demo network of the multimodal methods: a 3-block convnet on one
# 3-channel modality. Early fusion / MM-MIMO widen its first conv to the
# packed channels; late fusion uses one per modality.
convnet_mm_cells = dict(
    type='ImageClassifier',
    backbone=dict(type='SimpleConvNet', in_channels=3, channels=(8, 16, 32),
                  kernel_sizes=(5, 3, 3)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=4,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
