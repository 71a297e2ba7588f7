# Loss screen: DIST (Huang et al., NeurIPS 2022), beta = gamma = 2, T = 4,
# 0.5 CE + 0.5 DIST (the kd demo's recommended row).
#   python tools/analysis_tools/compare_runs.py configs/demo/loss_screen/*.py \
#       --seeds 1 --train-metrics --json docs/results/loss_screen.json
_base_ = ['../dist_convnet_wide_convnet_cells.py']
