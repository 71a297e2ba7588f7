# ShuffleNetV2 early fusion (seed 002, Fig. 2a; Table 1: weighted F1 95.43;
# 172.17M FLOPs, 1.261M params):
# the cell's 4 modalities concatenated (12 channels), one head.
#   python tools/train.py configs/mm_mimo/shufflenetv2_early_fusion_wbc.py
_base_ = [
    '../_base_/models/shufflenetv2_wbc.py',
    '../_base_/datasets/multimodal_wbc.py',
    '../_base_/schedules/mm_wbc_100e.py', '../_base_/default_runtime.py'
]
model = dict(
    _base_.shufflenetv2_wbc,
    backbone=dict(_base_.shufflenetv2_wbc.backbone,
                  in_channels=sum(_base_.slot_channels)))
