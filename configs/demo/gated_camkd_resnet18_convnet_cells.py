# Multi-teacher baseline for the gated demo: the same two teachers, student,
# loss and schedule as gated_resnet18_convnet_cells.py, with CA-MKD's
# parameter-free confidence weights (Zhang et al., ICASSP 2022): per sample,
# a teacher with a lower cross-entropy on the label weighs more.
#   python tools/demo.py --method gated   (the CA-MKD row)
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(gate=dict(_delete_=True, type='CAMKDGate'))
