# Gated multi-teacher KD with one loss per teacher: the paper's gate
# (ImageGate, trained through the distillation term), teachers, student,
# DIST and schedule of gated_resnet18_convnet_cells.py, but the student is
# asked to follow each teacher's class ranking where the gate weighs it
# (L = sum_k DIST_w(z_s, z_k; w_k)), instead of the ranking of the teachers'
# mixed probabilities (teacher_mixing='probs').
#   python tools/demo.py --method gated   (the per-teacher-losses rows)
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(teacher_mixing='losses')
