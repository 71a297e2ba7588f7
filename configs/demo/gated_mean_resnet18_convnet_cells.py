# Multi-teacher baseline for the gated demo: the same two teachers, student,
# loss and schedule as gated_resnet18_convnet_cells.py, with equal weights
# 1/K for every teacher (MeanGate, AVER-MKD).
#   python tools/demo.py --method gated   (the mean-gate row)
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(gate=dict(_delete_=True, type='MeanGate'))
