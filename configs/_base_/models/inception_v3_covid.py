# Inception-V3, the teacher of the teacher-assistant paper's COVID case study
# (3 classes). mmpretrain's InceptionV3 holds its classifier (num_classes)
# and returns (aux, logits), so it offers logits only, no feature maps.
inception_v3_covid = dict(
    type='ImageClassifier',
    backbone=dict(type='InceptionV3', num_classes=3, aux_logits=False),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
