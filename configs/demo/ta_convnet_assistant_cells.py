# Teacher-assistant demo, assistant: a mid-size 4-block convnet distilled
# from the ResNet-18 teacher (BCE + soft BCE at T = 4 + spatial-softmax KL
# between assistant blocks 1 / 2 and ResNet stages 0 / 1).
#   python tools/train.py configs/demo/ta_convnet_assistant_cells.py \
#       --cfg-options model.teachers.teacher.ckpt=path/to/epoch_12.pth
_base_ = [
    '../_base_/models/resnet18_cell_attributes.py',
    '../_base_/models/convnet_mid_cell_attributes.py',
    '../_base_/datasets/synthetic_cell_attributes.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpt = 'work_dirs/demo/ta_resnet18_teacher_cells/epoch_12.pth'
model = dict(
    type='TeacherAssistant',
    student=dict(
        _base_.convnet_mid_cell_attributes,
        backbone=dict(
            _base_.convnet_mid_cell_attributes.backbone,
            out_indices=(1, 2, 3))),
    teachers=dict(
        teacher=dict(
            model=dict(
                _base_.resnet18_cell_attributes,
                backbone=dict(
                    _base_.resnet18_cell_attributes.backbone,
                    out_indices=(0, 1, 3))),
            ckpt=teacher_ckpt)),
    kd_loss=dict(type='SoftBCELoss', temperature=4.0),
    feature_pairs=[
        dict(student_stage=s, teacher_stage=t,
             loss=dict(type='FeatureKLLoss', loss_weight=1.0),
             connector=dict(type='ConvConnector'))
        for s, t in [(1, 0), (2, 1)]
    ],
)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        max_keep_ckpts=1, save_best='medical/auc_mean', rule='greater'))
