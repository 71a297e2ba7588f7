# The form of ../gated_camkd_sum_resnet18_convnet_cells.py on
# 8-class synthetic cells with their own teachers.
#   python tools/demo.py --method gated_transfer --seeds 3
_base_ = ['./gated_resnet18_convnet.py']
model = dict(
    gate=dict(_delete_=True, type='CAMKDGate'),
    teacher_mixing='losses',
    teacher_loss_norm='sum')
