# Premise of the gated demo: the class-expert teachers of
# premise_gated_cells.py with the paper's gate and one loss per teacher
# (teacher_mixing='losses', as gated_losses_resnet18_convnet_cells.py).
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./premise_gated_cells.py']
model = dict(teacher_mixing='losses')
