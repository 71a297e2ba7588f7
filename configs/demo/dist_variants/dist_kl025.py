# The recommended DIST plus Hinton's KL term (kl_weight 0.25 at T = 4), which
# should tie the student's logit scale to the teacher's: screened on val
# (docs/distillation_losses.md, "Calibrated students"); it does not (fitted
# T ~0.02): the KL gradient is bounded, DIST's grows as the logits shrink.
_base_ = ['../dist_convnet_wide_convnet_cells.py']
model = dict(kd_loss=dict(kl_weight=0.25))
