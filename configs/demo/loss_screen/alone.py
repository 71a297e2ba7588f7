# Loss screen: the tiny student alone (no teacher).
#   python tools/analysis_tools/compare_runs.py configs/demo/loss_screen/*.py \
#       --seeds 1 --train-metrics --json docs/results/loss_screen.json
_base_ = ['../convnet_student_cells.py']
