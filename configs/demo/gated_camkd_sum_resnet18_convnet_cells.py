# A gated form screened on val: CA-MKD's label-confidence
# weights (CAMKDGate) on per-teacher DIST losses at full strength
# (teacher_loss_norm='sum': one teacher's loss scale; CA-MKD's official
# code divides by K, gated_camkd_resnet18_convnet_cells.py).
#   python tools/demo.py --method gated_variants --seeds 3
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(
    gate=dict(_delete_=True, type='CAMKDGate'),
    teacher_mixing='losses',
    teacher_loss_norm='sum')
