# Loss screen: Hinton KD at T = 2, alpha = 0.5 (the kd demo's vanilla row).
#   python tools/analysis_tools/compare_runs.py configs/demo/loss_screen/*.py \
#       --seeds 1 --train-metrics --json docs/results/loss_screen.json
_base_ = ['../kd_convnet_wide_convnet_cells.py']
