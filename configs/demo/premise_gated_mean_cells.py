# Premise of the gated demo: the class-expert teachers of
# premise_gated_cells.py with MeanGate's equal weights (AVER-MKD), the
# loss of the mixture.
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./premise_gated_cells.py']
model = dict(gate=dict(_delete_=True, type='MeanGate'))
