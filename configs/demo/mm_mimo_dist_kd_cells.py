# Demo MM-MIMO + KD with DIST per head (the `kd` demo's recommended loss):
# head m matches the ranking of late-fusion member m's class scores instead
# of its softened probabilities (configs/demo/mm_mimo_kd_cells.py).
#   python tools/demo.py --method mm_mimo --seeds 3
_base_ = ['./mm_mimo_kd_cells.py']
model = dict(
    kd_loss=dict(type='DISTLoss', beta=2.0, gamma=2.0, temperature=4.0))
