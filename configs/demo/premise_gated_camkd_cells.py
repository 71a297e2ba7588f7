# Premise of the gated demo: the class-expert teachers of
# premise_gated_cells.py with CA-MKD's logit term (CAMKDGate, per-teacher
# losses / K, as gated_camkd_resnet18_convnet_cells.py).
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./premise_gated_cells.py']
model = dict(
    gate=dict(_delete_=True, type='CAMKDGate'),
    teacher_mixing='losses',
    teacher_loss_norm='num_teachers')
