# Premise of the gated demo: the class-expert teachers of
# premise_gated_cells.py with the gate trained by the mixed teachers'
# cross-entropy with the label only (as
# gated_gate_ce_resnet18_convnet_cells.py).
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./premise_gated_cells.py']
model = dict(gate_kd_grad=False, gate_ce_weight=1.0)
