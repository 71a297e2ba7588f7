# Teacher-assistant demo, student from the assistant: the tiny convnet
# distilled from the mid-size convnet (BCE + soft BCE at T = 4 + per-channel
# Wasserstein-1 between each student block and assistant blocks 0 / 1 / 2).
#   python tools/train.py configs/demo/ta_student_from_assistant_cells.py \
#       --cfg-options model.teachers.assistant.ckpt=path/to/epoch_12.pth
_base_ = [
    '../_base_/models/convnet_mid_cell_attributes.py',
    '../_base_/models/convnet_tiny_cell_attributes.py',
    '../_base_/datasets/synthetic_cell_attributes.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpt = ('work_dirs/demo/teacher_assistant/ta_convnet_assistant_cells/'
                'epoch_12.pth')
model = dict(
    type='TeacherAssistant',
    student=dict(
        _base_.convnet_tiny_cell_attributes,
        backbone=dict(
            _base_.convnet_tiny_cell_attributes.backbone,
            out_indices=(0, 1, 2))),
    teachers=dict(
        assistant=dict(
            model=dict(
                _base_.convnet_mid_cell_attributes,
                backbone=dict(
                    _base_.convnet_mid_cell_attributes.backbone,
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
