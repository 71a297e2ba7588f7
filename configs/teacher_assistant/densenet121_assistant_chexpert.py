# Assistant: DenseNet-121 distilled from the EfficientNet-B6 + B7 ensemble
# on CheXpert (teacher-assistant paper, Eq. 3): BCE on the labels + BCE on
# the ensemble's sigmoid(z / 20) soft labels + spatial-softmax KL between
# DenseNet stages 1 / 2 and B7 stages 4 / 5 (1x1-conv connectors).
#   python tools/train.py configs/teacher_assistant/densenet121_assistant_chexpert.py \
#       --cfg-options model.teachers.b6.ckpt=... model.teachers.b7.ckpt=...
_base_ = [
    '../_base_/models/efficientnet_b6_chexpert.py',
    '../_base_/models/efficientnet_b7_chexpert.py',
    '../_base_/models/densenet121_chexpert.py',
    '../_base_/datasets/chexpert.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
teacher_ckpts = dict(
    b6='work_dirs/chexpert_chain/teacher_b6/epoch_10.pth',
    b7='work_dirs/chexpert_chain/teacher_b7/epoch_10.pth')
model = dict(
    type='TeacherAssistant',
    student=dict(
        _base_.densenet121_chexpert,
        backbone=dict(
            _base_.densenet121_chexpert.backbone, out_indices=(1, 2, 3))),
    teachers=dict(
        b6=dict(model=_base_.efficientnet_b6_chexpert,
                ckpt=teacher_ckpts['b6']),
        b7=dict(
            model=dict(
                _base_.efficientnet_b7_chexpert,
                backbone=dict(
                    _base_.efficientnet_b7_chexpert.backbone,
                    out_indices=(4, 5, 6))),
            ckpt=teacher_ckpts['b7'])),
    kd_loss=dict(type='SoftBCELoss', temperature=20.0),
    feature_pairs=[
        dict(student_stage=1, teacher_stage=4, teacher='b7',
             loss=dict(type='FeatureKLLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector')),
        dict(student_stage=2, teacher_stage=5, teacher='b7',
             loss=dict(type='FeatureKLLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector')),
    ],
)
# Multi-label: keep the checkpoint with the best mean per-label AUC.
default_hooks = dict(
    checkpoint=dict(save_best='medical/auc_mean', rule='greater'))
