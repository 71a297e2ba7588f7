# The recommended DIST plus Hinton's KL term at weight 1 (T = 4): screened on
# val (docs/distillation_losses.md, "Calibrated students").
_base_ = ['../dist_convnet_wide_convnet_cells.py']
model = dict(kd_loss=dict(kl_weight=1.0))
