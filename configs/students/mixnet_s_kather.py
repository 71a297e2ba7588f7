# MixNet-S trained alone on Kather 2016: the baseline of the
# CheckpointSequence paper (Table II: accuracy 88.02%).
#   python tools/train.py configs/students/mixnet_s_kather.py
_base_ = [
    '../_base_/models/mixnet_s_kather.py', '../_base_/datasets/kather.py',
    '../_base_/schedules/kather_adam_50e.py', '../_base_/default_runtime.py'
]
model = _base_.mixnet_s_kather
