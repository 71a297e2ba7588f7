# Checkpoint-sequence premise sweep: the (2, 4, 8) student distilled
# (DIST) from the final teacher of the route.
#   python tools/demo.py --method checkpoint_sequence_gap --seeds 3
_base_ = ['../dist_convnet_wide_convnet_cells.py']
model = dict(student=dict(
    backbone=dict(channels=(2, 4, 8)), head=dict(in_channels=8)))
