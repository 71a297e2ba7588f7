# Baseline: the 3-block student distilled directly from the EfficientNet-B6 +
# B7 ensemble, no assistant (teacher-assistant paper, Table 1 "Student from
# teacher": precision 0.69, recall 0.30, F1 0.42). Same losses as the
# student stage, Wasserstein pairs against B7 stages 2 / 3 / 4.
#   python tools/train.py configs/teacher_assistant/convnet3_from_teacher_chexpert.py \
#       --cfg-options model.teachers.b6.ckpt=... model.teachers.b7.ckpt=...
_base_ = [
    '../_base_/models/efficientnet_b6_chexpert.py',
    '../_base_/models/efficientnet_b7_chexpert.py',
    '../_base_/models/convnet3_chexpert.py',
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
        _base_.convnet3_chexpert,
        backbone=dict(
            _base_.convnet3_chexpert.backbone, out_indices=(0, 1, 2))),
    teachers=dict(
        b6=dict(model=_base_.efficientnet_b6_chexpert,
                ckpt=teacher_ckpts['b6']),
        b7=dict(
            model=dict(
                _base_.efficientnet_b7_chexpert,
                backbone=dict(
                    _base_.efficientnet_b7_chexpert.backbone,
                    out_indices=(2, 3, 4, 6))),
            ckpt=teacher_ckpts['b7'])),
    kd_loss=dict(type='SoftBCELoss', temperature=20.0),
    feature_pairs=[
        dict(student_stage=s, teacher_stage=t, teacher='b7',
             loss=dict(type='WassersteinFeatureLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector'))
        for s, t in [(0, 2), (1, 3), (2, 4)]
    ],
)
# Multi-label: keep the checkpoint with the best mean per-label AUC.
default_hooks = dict(
    checkpoint=dict(save_best='medical/auc_mean', rule='greater'))
