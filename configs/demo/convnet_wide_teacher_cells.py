# Second demo teacher for the gated multi-teacher demo.
#   python tools/train.py configs/demo/convnet_wide_teacher_cells.py
_base_ = [
    '../_base_/models/convnet_wide_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
model = _base_.convnet_wide_cells
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
