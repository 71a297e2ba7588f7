# Demo DIST (Huang et al., NeurIPS 2022) from the wide convnet teacher into
# the tiny convnet: the `kd` demo's recommended row. Chosen on the val split
# among Hinton KD (T = 2 / 4), logit-standardised KD, DKD and DIST (one seed
# each, then 3 seeds for the chosen one; docs/distillation_losses.md):
# DIST only asks the student to rank the classes (and the samples of a
# class) as the teacher does, not to match its probabilities, so the
# 6.6k-parameter student keeps fitting its training set.
#   python tools/train.py configs/demo/dist_convnet_wide_convnet_cells.py
#   python tools/demo.py --method kd --seeds 3
_base_ = ['./kd_convnet_wide_convnet_cells.py']
model = dict(
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(
        _delete_=True, type='DISTLoss', beta=2.0, gamma=2.0,
        temperature=4.0))
