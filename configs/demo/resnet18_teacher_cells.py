# Demo teacher: ResNet-18 on medkd's synthetic cells (CPU, ~2 min).
#   python tools/train.py configs/demo/resnet18_teacher_cells.py
_base_ = [
    '../_base_/models/resnet18_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
model = _base_.resnet18_cells
