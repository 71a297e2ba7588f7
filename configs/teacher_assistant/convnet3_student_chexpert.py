# Student: the 3-block convnet distilled from the DenseNet-121 assistant on
# CheXpert (teacher-assistant paper, Eq. 4; Table 1 "Student from assistant":
# precision 0.952, recall 0.829, F1 0.878 on the 202 validation images):
# BCE on the labels + BCE on the assistant's sigmoid(z / 20) + per-channel
# Wasserstein-1 distances between each student block and DenseNet stages
# 0 / 1 / 2.
#   python tools/train.py configs/teacher_assistant/convnet3_student_chexpert.py \
#       --cfg-options model.teachers.assistant.ckpt=...
_base_ = [
    '../_base_/models/densenet121_chexpert.py',
    '../_base_/models/convnet3_chexpert.py',
    '../_base_/datasets/chexpert.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
teacher_ckpt = 'work_dirs/chexpert_chain/assistant/epoch_10.pth'
model = dict(
    type='TeacherAssistant',
    student=dict(
        _base_.convnet3_chexpert,
        backbone=dict(
            _base_.convnet3_chexpert.backbone, out_indices=(0, 1, 2))),
    teachers=dict(
        assistant=dict(
            model=dict(
                _base_.densenet121_chexpert,
                backbone=dict(
                    _base_.densenet121_chexpert.backbone,
                    out_indices=(0, 1, 2, 3))),
            ckpt=teacher_ckpt)),
    kd_loss=dict(type='SoftBCELoss', temperature=20.0),
    feature_pairs=[
        dict(student_stage=s, teacher_stage=t,
             loss=dict(type='WassersteinFeatureLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector'))
        for s, t in [(0, 0), (1, 1), (2, 2)]
    ],
)
# Multi-label: keep the checkpoint with the best mean per-label AUC.
default_hooks = dict(
    checkpoint=dict(save_best='medical/auc_mean', rule='greater'))
