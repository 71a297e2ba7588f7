# The gate's view on the demo: the paper's gate at full resolution (64 px,
# gate=dict(resize_input=None)).
#   python tools/analysis_tools/compare_runs.py configs/demo/gate_view/*.py \
#       --seeds 3 --json docs/results/gate_view.json
_base_ = ['../gated_resnet18_convnet_cells.py']
model = dict(gate=dict(resize_input=None))
