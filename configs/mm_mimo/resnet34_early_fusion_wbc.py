# ResNet-34 early fusion (seed 002, Fig. 2a; Table 1: weighted F1 95.56;
# 4024.79M FLOPs, 21.315M params):
# the cell's 4 modalities concatenated (12 channels), one head.
#   python tools/train.py configs/mm_mimo/resnet34_early_fusion_wbc.py
_base_ = [
    '../_base_/models/resnet34_wbc.py', '../_base_/datasets/multimodal_wbc.py',
    '../_base_/schedules/mm_wbc_100e.py', '../_base_/default_runtime.py'
]
model = dict(
    _base_.resnet34_wbc,
    backbone=dict(_base_.resnet34_wbc.backbone,
                  in_channels=sum(_base_.slot_channels)))
