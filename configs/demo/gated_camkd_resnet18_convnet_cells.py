# Multi-teacher baseline for the gated demo: CA-MKD's logit term (Zhang et
# al., ICASSP 2022) in the form of its official code, with the same two
# teachers, student, loss (DIST) and schedule as
# gated_resnet18_convnet_cells.py: per sample, a teacher with a lower
# cross-entropy on the label weighs more (CAMKDGate), one loss per teacher
# weighted by it (teacher_mixing='losses'), divided by K
# (teacher_loss_norm='num_teachers': the official 1 / (batch x K)).
# CA-MKD's weighted intermediate-feature term is left out (a logit-only
# baseline), so the demo's row says "logit term".
#   python tools/demo.py --method gated   (the CA-MKD row)
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(
    gate=dict(_delete_=True, type='CAMKDGate'),
    teacher_mixing='losses',
    teacher_loss_norm='num_teachers')
