# The form of gated_camkd_sum_resnet18_convnet_cells.py on the
# premise data (two class-expert teachers).
#   python tools/demo.py --method gated_premise_variants --seeds 3
_base_ = ['./premise_gated_cells.py']
model = dict(
    gate=dict(_delete_=True, type='CAMKDGate'),
    teacher_mixing='losses',
    teacher_loss_norm='sum')
