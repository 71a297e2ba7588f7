# DIST at the official ImageNet setting (T = 1, beta = gamma = 1, CE and DIST
# weighted 1): one of the settings screened on val for calibrated raw scores
# (docs/distillation_losses.md, "Calibrated students"): raw ECE ~30 % instead
# of ~60 %, but a worse ECE after temperature scaling.
#   python tools/analysis_tools/compare_runs.py configs/demo/dist_variants/*.py --seeds 1
_base_ = ['../dist_convnet_wide_convnet_cells.py']
model = dict(
    cls_weight=1.0,
    kd_weight=1.0,
    kd_loss=dict(
        _delete_=True, type='DISTLoss', beta=1.0, gamma=1.0,
        temperature=1.0))
