# Demo early fusion (seed 002, Fig. 2a): the same cell's 4 modalities
# concatenated on channels (6) into one convnet with one head.
#   python tools/train.py configs/demo/mm_early_fusion_cells.py
#   python tools/demo.py --method mm_mimo
_base_ = [
    '../_base_/models/convnet_mm_cells.py',
    '../_base_/datasets/synthetic_multimodal_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
model = dict(
    _base_.convnet_mm_cells,
    backbone=dict(_base_.convnet_mm_cells.backbone,
                  in_channels=sum(_base_.slot_channels)))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
