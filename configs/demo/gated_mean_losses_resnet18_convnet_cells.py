# Multi-teacher baseline for the gated demo: the mean of the per-teacher
# losses, (1/K) sum_k DIST(z_s, z_k) (MeanGate, teacher_mixing='losses'),
# same teachers, student, loss and schedule as
# gated_resnet18_convnet_cells.py.
#   python tools/demo.py --method gated   (the mean-of-losses row)
_base_ = ['./gated_mean_resnet18_convnet_cells.py']
model = dict(teacher_mixing='losses')
