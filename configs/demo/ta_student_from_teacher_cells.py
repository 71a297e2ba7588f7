# Teacher-assistant demo, baseline without the assistant: the tiny convnet
# distilled directly from the ResNet-18 teacher (same losses as
# ta_student_from_assistant_cells.py; Wasserstein-1 against ResNet stages
# 0 / 1 / 2).
#   python tools/train.py configs/demo/ta_student_from_teacher_cells.py \
#       --cfg-options model.teachers.teacher.ckpt=path/to/epoch_12.pth
_base_ = [
    '../_base_/models/resnet18_cell_attributes.py',
    '../_base_/models/convnet_tiny_cell_attributes.py',
    '../_base_/datasets/synthetic_cell_attributes.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpt = 'work_dirs/demo/ta_resnet18_teacher_cells/epoch_12.pth'
model = dict(
    type='TeacherAssistant',
    student=dict(
        _base_.convnet_tiny_cell_attributes,
        backbone=dict(
            _base_.convnet_tiny_cell_attributes.backbone,
            out_indices=(0, 1, 2))),
    teachers=dict(
        teacher=dict(
            model=dict(
                _base_.resnet18_cell_attributes,
                backbone=dict(
                    _base_.resnet18_cell_attributes.backbone,
                    out_indices=(0, 1, 2, 3))),
            ckpt=teacher_ckpt)),
    kd_loss=dict(type='SoftBCELoss', temperature=4.0),
    feature_pairs=[
        dict(student_stage=s, teacher_stage=t,
             loss=dict(type='WassersteinFeatureLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector'))
        for s, t in [(0, 0), (1, 1), (2, 2)]
    ],
)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        max_keep_ckpts=1, save_best='medical/auc_mean', rule='greater'))
