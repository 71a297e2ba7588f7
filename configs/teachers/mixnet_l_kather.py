# MixNet-L teacher on Kather 2016 (CheckpointSequence paper, Table II:
# accuracy 92.58%). Besides the usual checkpoints it saves its training route
# every 5 epochs (10 checkpoints) to work_dirs/mixnet_l_kather/route/ with
# route/manifest.json, which configs/checkpoint_sequence/ distils from.
#   python tools/train.py configs/teachers/mixnet_l_kather.py
_base_ = [
    '../_base_/models/mixnet_l_kather.py', '../_base_/datasets/kather.py',
    '../_base_/schedules/kather_adam_50e.py', '../_base_/default_runtime.py'
]
model = _base_.mixnet_l_kather
custom_hooks = [dict(type='TeacherRouteSaverHook', interval=5)]
