# Premise of the gated demo: the tiny convnet distilled (DIST, the kd demo's
# recipe) from the neutrophil/lymphocyte-swapped teacher alone.
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./dist_convnet_wide_convnet_cells.py']
