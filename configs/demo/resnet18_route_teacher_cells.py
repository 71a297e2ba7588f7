# Demo route teacher: the demo ResNet-18 that also saves its training route
# every 3 of its 12 epochs (4 checkpoints + route/manifest.json) for
# configs/demo/checkpoint_sequence_resnet18_convnet_cells.py.
#   python tools/train.py configs/demo/resnet18_route_teacher_cells.py
#   python tools/demo.py --method checkpoint_sequence
_base_ = ['./resnet18_teacher_cells.py']
custom_hooks = [dict(type='TeacherRouteSaverHook', interval=3)]
