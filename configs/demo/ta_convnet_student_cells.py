# Teacher-assistant demo, baseline: the tiny convnet trained alone on the 5
# multi-label cell attributes.
#   python tools/train.py configs/demo/ta_convnet_student_cells.py
_base_ = [
    '../_base_/models/convnet_tiny_cell_attributes.py',
    '../_base_/datasets/synthetic_cell_attributes.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
model = _base_.convnet_tiny_cell_attributes
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        max_keep_ckpts=1, save_best='medical/auc_mean', rule='greater'))
