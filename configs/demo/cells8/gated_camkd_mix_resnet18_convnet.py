# The recommended gated recipe (../gated_camkd_mix_resnet18_convnet_cells.py)
# on 8-class synthetic cells with their own teachers.
#   python tools/demo.py --method gated_transfer --seeds 3
_base_ = ['./gated_resnet18_convnet.py']
model = dict(gate=dict(_delete_=True, type='CAMKDGate'))
