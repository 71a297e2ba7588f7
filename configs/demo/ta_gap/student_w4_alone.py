# Capacity-gap sweep of the teacher-assistant demo: a student of channels
# (4, 8, 16) (the demo's is (8, 16, 32)) trained alone.
#   python tools/demo.py --method teacher_assistant_gap --seeds 3
_base_ = ['../ta_convnet_student_cells.py']
model = dict(
    backbone=dict(channels=(4, 8, 16)), head=dict(in_channels=16))
