# Demo CheckpointSequence: the tiny convnet follows the route of
# configs/demo/resnet18_route_teacher_cells.py (epochs 0-2 from its epoch-3
# checkpoint, 3-5 from epoch 6's, ...), with the demo KD's weights and T so it
# compares with configs/demo/kd_resnet18_convnet_cells.py.
#   python tools/train.py \
#       configs/demo/checkpoint_sequence_resnet18_convnet_cells.py
#   python tools/demo.py --method checkpoint_sequence
_base_ = [
    '../_base_/models/resnet18_cells.py',
    '../_base_/models/convnet_tiny_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo.py', '../_base_/default_runtime.py'
]
model = dict(
    type='CheckpointSequence',
    student=_base_.convnet_tiny_cells,
    teachers=dict(resnet18=dict(
        config='{{fileDirname}}/resnet18_route_teacher_cells.py')),
    route=dict(
        manifest='work_dirs/demo/resnet18_route_teacher_cells/route/'
        'manifest.json'),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='KDLoss', temperature=2.0),
)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
