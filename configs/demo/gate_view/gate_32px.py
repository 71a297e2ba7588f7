# The gate's view on the demo: the paper's gate at half resolution (32 px of
# the 64 px cells, gate=dict(resize_input=32), the demo's setting).
#   python tools/analysis_tools/compare_runs.py configs/demo/gate_view/*.py \
#       --seeds 3 --json docs/results/gate_view.json
_base_ = ['../gated_resnet18_convnet_cells.py']
