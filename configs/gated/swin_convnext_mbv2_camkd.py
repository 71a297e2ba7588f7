# The recommended gated recipe on C-NMC 2019: the paper's teachers, student,
# loss and schedule, with CA-MKD's label-confidence weights (CAMKDGate: per
# training cell, the teacher more confident in the true class weighs more;
# no gate to train) mixing the teachers' softened probabilities. Chosen on
# val over three synthetic data sets, where the paper's learned gate
# collapsed onto one teacher (configs/gated/README.md); not run on C-NMC
# here (no data, no GPU): compare it with swin_convnext_mbv2.py on your val.
#   bash tools/dist_train.sh configs/gated/swin_convnext_mbv2_camkd.py 4
_base_ = ['./swin_convnext_mbv2.py']
model = dict(gate=dict(_delete_=True, type='CAMKDGate'))
