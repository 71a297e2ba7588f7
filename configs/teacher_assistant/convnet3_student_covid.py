# COVID case study (teacher-assistant paper, Table 2c: accuracy 0.976,
# weighted F1 0.976): the 3-block student distilled from the DenseNet-121
# assistant with CE + T^2 * KL at T = 30 + per-channel Wasserstein-1
# distances between each student block and DenseNet stages 0 / 1 / 2.
#   python tools/train.py configs/teacher_assistant/convnet3_student_covid.py \
#       --cfg-options model.teachers.assistant.ckpt=...
_base_ = [
    '../_base_/models/densenet121_covid.py',
    '../_base_/models/convnet3_covid.py',
    '../_base_/datasets/covid_cxr.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
teacher_ckpt = 'work_dirs/covid_chain/assistant/epoch_10.pth'
model = dict(
    type='TeacherAssistant',
    student=dict(
        _base_.convnet3_covid,
        backbone=dict(
            _base_.convnet3_covid.backbone, out_indices=(0, 1, 2))),
    teachers=dict(
        assistant=dict(
            model=dict(
                _base_.densenet121_covid,
                backbone=dict(
                    _base_.densenet121_covid.backbone,
                    out_indices=(0, 1, 2, 3))),
            ckpt=teacher_ckpt)),
    kd_loss=dict(type='KDLoss', temperature=30.0),
    feature_pairs=[
        dict(student_stage=s, teacher_stage=t,
             loss=dict(type='WassersteinFeatureLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector'))
        for s, t in [(0, 0), (1, 1), (2, 2)]
    ],
)
