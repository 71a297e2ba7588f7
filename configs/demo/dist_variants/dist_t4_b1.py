# The recommended DIST with beta = gamma = 1 and the CE term twice as heavy
# (cls_weight 1, kd_weight 0.5): screened on val for calibrated raw scores
# (docs/distillation_losses.md, "Calibrated students").
_base_ = ['../dist_convnet_wide_convnet_cells.py']
model = dict(cls_weight=1.0, kd_weight=0.5, kd_loss=dict(beta=1.0, gamma=1.0))
