# Demo gated multi-teacher KD with the paper's gate (seed 000): the gate
# learns through the distillation term only. Same teachers, student, loss
# and schedule as configs/demo/gated_resnet18_convnet_cells.py; the `gated`
# demo's comparison row.
#   python tools/demo.py --method gated --seeds 3
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(gate_kd_grad=True, gate_ce_weight=0.0)
