# A gated form screened on val: per sample, all the weight on the best
# teacher that is right (BestTeacherGate; the best: the highest running
# training accuracy), one DIST loss per teacher.
#   python tools/demo.py --method gated_variants --seeds 3
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(
    gate=dict(_delete_=True, type='BestTeacherGate'),
    teacher_mixing='losses',
    teacher_loss_norm='sum')
