# CheckpointSequence (multi-part KD) on Kather 2016: MixNet-S follows the
# MixNet-L teacher's route, epochs 0-4 from its epoch-5 checkpoint, 5-9 from
# epoch 10's, ... (paper, Table II: accuracy 92.10% vs 90.46% for vanilla
# KD), T = 5, lambda = kd_weight = 0.5. Train configs/teachers/mixnet_l_kather.py first
# (it writes the route), then
#   python tools/train.py \
#       configs/checkpoint_sequence/mixnet_l_mixnet_s_kather.py
# Another route: --cfg-options model.route.manifest=path/to/manifest.json
_base_ = [
    '../_base_/models/mixnet_l_kather.py',
    '../_base_/models/mixnet_s_kather.py', '../_base_/datasets/kather.py',
    '../_base_/schedules/kather_adam_50e.py', '../_base_/default_runtime.py'
]
model = dict(
    type='CheckpointSequence',
    student=_base_.mixnet_s_kather,
    teachers=dict(mixnet_l=dict(
        config='{{fileDirname}}/../teachers/mixnet_l_kather.py')),
    route=dict(manifest='work_dirs/mixnet_l_kather/route/manifest.json'),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='KDLoss', temperature=5.0),
)
