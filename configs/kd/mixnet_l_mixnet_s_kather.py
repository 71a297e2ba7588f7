# Vanilla KD on Kather 2016: MixNet-S distilled from the final MixNet-L
# (CheckpointSequence paper, Table II baseline: accuracy 90.46%), T = 5,
# cls_weight = kd_weight = 0.5 (alpha = 0.5). Train
# configs/teachers/mixnet_l_kather.py first, then
#   python tools/train.py configs/kd/mixnet_l_mixnet_s_kather.py
_base_ = [
    '../_base_/models/mixnet_l_kather.py',
    '../_base_/models/mixnet_s_kather.py', '../_base_/datasets/kather.py',
    '../_base_/schedules/kather_adam_50e.py', '../_base_/default_runtime.py'
]
teacher_ckpt = 'work_dirs/mixnet_l_kather/epoch_50.pth'
model = dict(
    type='VanillaKD',
    student=_base_.mixnet_s_kather,
    teachers=dict(
        mixnet_l=dict(
            config='{{fileDirname}}/../teachers/mixnet_l_kather.py',
            ckpt=teacher_ckpt)),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='KDLoss', temperature=5.0),
)
