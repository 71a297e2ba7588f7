# Checkpoint-sequence premise sweep: the (2, 4, 8) student following
# the teacher's route (DIST from each route checkpoint in turn).
#   python tools/demo.py --method checkpoint_sequence_gap --seeds 3
_base_ = ['../checkpoint_sequence_convnet_wide_convnet_cells.py']
model = dict(student=dict(
    backbone=dict(channels=(2, 4, 8)), head=dict(in_channels=8)))
