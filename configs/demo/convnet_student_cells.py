# Demo student trained alone (the baseline KD must beat).
#   python tools/train.py configs/demo/convnet_student_cells.py
_base_ = [
    '../_base_/models/convnet_tiny_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
model = _base_.convnet_tiny_cells
