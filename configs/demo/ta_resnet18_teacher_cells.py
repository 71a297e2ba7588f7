# Teacher-assistant demo, teacher: ResNet-18 on the 5 multi-label cell
# attributes of SyntheticCells (32 px).
#   python tools/train.py configs/demo/ta_resnet18_teacher_cells.py
#   python tools/demo.py --method teacher_assistant   (the whole comparison)
_base_ = [
    '../_base_/models/resnet18_cell_attributes.py',
    '../_base_/datasets/synthetic_cell_attributes.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
model = _base_.resnet18_cell_attributes
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        max_keep_ckpts=1, save_best='medical/auc_mean', rule='greater'))
