# Checkpoint-sequence premise sweep: a student of channels (2, 4, 8)
# (the demo's is (8, 16, 32)) trained alone.
#   python tools/demo.py --method checkpoint_sequence_gap --seeds 3
_base_ = ['../convnet_student_cells.py']
model = dict(
    backbone=dict(channels=(2, 4, 8)), head=dict(in_channels=8))
