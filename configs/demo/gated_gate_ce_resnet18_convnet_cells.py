# Demo gated multi-teacher KD whose gate learns only from the mixed
# teacher's cross-entropy with the labels (gate_kd_grad=False,
# gate_ce_weight=1): same teachers, student, loss and schedule as
# configs/demo/gated_resnet18_convnet_cells.py. Measured: this gate
# collapses onto the better teacher (weight 0.9998, entropy 0.001 nats by
# epoch 18), since that teacher is the more often right one; the `gated`
# demo's comparison row.
#   python tools/demo.py --method gated --seeds 3
_base_ = ['./gated_resnet18_convnet_cells.py']
model = dict(gate_kd_grad=False, gate_ce_weight=1.0)
