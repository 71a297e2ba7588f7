# COVID case study (teacher-assistant paper, Table 2b: accuracy 0.980,
# weighted F1 0.980): DenseNet-121 assistant distilled from the Inception-V3
# teacher with CE + T^2 * KL at T = 30. mmpretrain's InceptionV3 exposes
# logits only, so this stage has no feature loss.
#   python tools/train.py configs/teacher_assistant/densenet121_assistant_covid.py \
#       --cfg-options model.teachers.teacher.ckpt=...
_base_ = [
    '../_base_/models/inception_v3_covid.py',
    '../_base_/models/densenet121_covid.py',
    '../_base_/datasets/covid_cxr.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
teacher_ckpt = 'work_dirs/covid_chain/teacher/epoch_10.pth'
model = dict(
    type='TeacherAssistant',
    student=_base_.densenet121_covid,
    teachers=dict(
        teacher=dict(model=_base_.inception_v3_covid, ckpt=teacher_ckpt)),
    kd_loss=dict(type='KDLoss', temperature=30.0),
)
