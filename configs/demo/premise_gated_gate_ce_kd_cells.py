# Premise of the gated demo: the class-expert teachers of
# premise_gated_cells.py with a gate trained by both the distillation term
# and the gate CE (as gated_gate_ce_kd_resnet18_convnet_cells.py).
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./premise_gated_cells.py']
model = dict(gate_kd_grad=True, gate_ce_weight=1.0)
