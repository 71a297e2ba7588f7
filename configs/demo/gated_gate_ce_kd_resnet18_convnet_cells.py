# Demo gated multi-teacher KD whose gate learns from both signals: the
# distillation term (as the paper's gate) and the mixed teachers'
# cross-entropy with the labels (gate_ce_weight=1: which teacher is right
# for this sample). Same teachers, student, loss and schedule as
# configs/demo/gated_resnet18_convnet_cells.py.
#   python tools/demo.py --method gated --seeds 3
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(gate_kd_grad=True, gate_ce_weight=1.0)
