# Loss screen of docs/distillation_losses.md: Hinton KD at the papers'
# T = 4, alpha = 0.9 (0.1 CE + 0.9 T^2 KL) from the kd demo's teacher.
#   python tools/analysis_tools/compare_runs.py configs/demo/loss_screen/*.py \
#       --seeds 1 --train-metrics --json docs/results/loss_screen.json
_base_ = ['../kd_convnet_wide_convnet_cells.py']
model = dict(cls_weight=0.1, kd_weight=0.9,
             kd_loss=dict(type='KDLoss', temperature=4.0))
