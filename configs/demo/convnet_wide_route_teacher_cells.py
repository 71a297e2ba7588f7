# Demo route teacher for CheckpointSequence: the wide convnet teacher of
# configs/demo/convnet_wide_teacher_cells.py (30 epochs), saving its weights
# every 5 epochs into work_dir/route/ (6 checkpoints, as the paper's every 5
# of 50).
#   python tools/train.py configs/demo/convnet_wide_route_teacher_cells.py
_base_ = ['./convnet_wide_teacher_cells.py']
custom_hooks = [dict(type='TeacherRouteSaverHook', interval=5)]
