# Loss screen: logit-standardised KD (Sun et al., CVPR 2024) at T = 2 with
# the official weights (0.1 CE + 9 KD: alpha = 0.9, loss_weight = 10).
#   python tools/analysis_tools/compare_runs.py configs/demo/loss_screen/*.py \
#       --seeds 1 --train-metrics --json docs/results/loss_screen.json
_base_ = ['../kd_convnet_wide_convnet_cells.py']
model = dict(cls_weight=0.1, kd_weight=0.9,
             kd_loss=dict(_delete_=True, type='LogitStdKDLoss',
                          temperature=2.0, loss_weight=10.0))
