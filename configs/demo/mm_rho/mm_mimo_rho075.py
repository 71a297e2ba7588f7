# MM-MIMO's input repetition screened on val: rho = 0.75 (the probability
# that all slots of a training sample share one cell; 0: every slot an
# independent cell, the paper's default; 1: always one cell).
#   python tools/analysis_tools/compare_runs.py configs/demo/mm_rho/*.py \
#       --seeds 3 --json docs/results/mm_mimo_rho.json
_base_ = ['../mm_mimo_cells.py']
train_dataloader = dict(sampler=dict(rho=0.75))
