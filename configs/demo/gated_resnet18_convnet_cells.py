# Demo gated multi-teacher KD, the paper's gate: the tiny convnet distilled
# from ResNet-18 and a wide convnet mixed per sample by a learned gate
# (trained through the distillation term), with DIST as the soft loss (the
# loss chosen on val for the `kd` demo, docs/distillation_losses.md). The
# recommended gated recipe replaces the gate with CA-MKD's label-confidence
# weights (gated_camkd_mix_resnet18_convnet_cells.py): the paper's gate
# collapses onto one teacher when the teachers are complementary experts
# (configs/gated/README.md).
#   python tools/train.py configs/demo/gated_resnet18_convnet_cells.py
#   python tools/demo.py --method gated --seeds 3
_base_ = [
    '../_base_/models/resnet18_cells.py',
    '../_base_/models/convnet_wide_cells.py',
    '../_base_/models/convnet_tiny_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpts = dict(
    resnet18='work_dirs/demo/resnet18_teacher_cells/epoch_12.pth',
    convnet_wide='work_dirs/demo/convnet_wide_teacher_cells/epoch_30.pth')
model = dict(
    type='GatedMultiTeacher',
    student=_base_.convnet_tiny_cells,
    teachers=dict(
        resnet18=dict(
            config='{{fileDirname}}/resnet18_teacher_cells.py',
            ckpt=teacher_ckpts['resnet18']),
        convnet_wide=dict(
            config='{{fileDirname}}/convnet_wide_teacher_cells.py',
            ckpt=teacher_ckpts['convnet_wide'])),
    gate=dict(type='ImageGate', resize_input=32),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='DISTLoss', beta=2.0, gamma=2.0, temperature=4.0),
)
teacher_cache = dict(num_views=8)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
