# Loss screen: decoupled KD (Zhao et al., CVPR 2022) with its ImageNet /
# CIFAR weights (alpha 1, beta 8, T 4, no warm-up) at 0.5 CE + 0.5 DKD.
#   python tools/analysis_tools/compare_runs.py configs/demo/loss_screen/*.py \
#       --seeds 1 --train-metrics --json docs/results/loss_screen.json
_base_ = ['../kd_convnet_wide_convnet_cells.py']
model = dict(kd_loss=dict(_delete_=True, type='DKDLoss', alpha=1.0,
                          beta=8.0, temperature=4.0))
