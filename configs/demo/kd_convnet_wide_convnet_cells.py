# Demo vanilla KD (Hinton et al. 2015) from the wide convnet teacher
# (configs/demo/convnet_wide_teacher_cells.py, 243k parameters, ~91 % test
# accuracy) into the tiny convnet (6.6k parameters); the `kd` demo's
# "vanilla KD" row. T = 2, kd_weight = cls_weight = 0.5 were chosen on the
# val split (the papers' T = 4, kd_weight = 0.9 drop the student's *train*
# accuracy from 84 % to 76 %: see docs/distillation_losses.md).
#   python tools/train.py configs/demo/kd_convnet_wide_convnet_cells.py
#   python tools/demo.py --method kd --seeds 3
_base_ = [
    '../_base_/models/convnet_wide_cells.py',
    '../_base_/models/convnet_tiny_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpt = 'work_dirs/demo/convnet_wide_teacher_cells/epoch_30.pth'
model = dict(
    type='VanillaKD',
    student=_base_.convnet_tiny_cells,
    teachers=dict(
        convnet_wide=dict(
            config='{{fileDirname}}/convnet_wide_teacher_cells.py',
            ckpt=teacher_ckpt)),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='KDLoss', temperature=2.0),
)
# The teacher's outputs for 8 augmented views of every training image are
# computed once (the flips give 4 distinct views); KD then costs about as
# much as training the student alone.
teacher_cache = dict(num_views=8)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
