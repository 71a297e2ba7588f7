# Demo CheckpointSequence: the tiny convnet follows the route of
# configs/demo/convnet_wide_route_teacher_cells.py (student epochs 0-4 from
# the teacher's epoch-5 checkpoint, 5-9 from epoch 10's, ..., 25-29 from the
# final one), with the `kd` demo's recommended loss (DIST, kd_weight 0.5) so it
# compares with configs/demo/dist_convnet_wide_convnet_cells.py, KD from the
# final teacher. The teacher-output cache is rebuilt for each route
# checkpoint.
#   python tools/demo.py --method checkpoint_sequence --seeds 3
_base_ = [
    '../_base_/models/convnet_wide_cells.py',
    '../_base_/models/convnet_tiny_cells.py',
    '../_base_/datasets/synthetic_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
model = dict(
    type='CheckpointSequence',
    student=_base_.convnet_tiny_cells,
    teachers=dict(convnet_wide=dict(
        config='{{fileDirname}}/convnet_wide_route_teacher_cells.py')),
    route=dict(manifest='work_dirs/demo/convnet_wide_route_teacher_cells/'
               'route/manifest.json'),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='DISTLoss', beta=2.0, gamma=2.0, temperature=4.0),
)
teacher_cache = dict(num_views=8)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
