# Premise of the gated demo: the mirror image of
# premise_teacher_swap23_cells.py, trained with the neutrophil and
# lymphocyte labels swapped (right on eosinophils and monocytes only).
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./premise_teacher_swap23_cells.py']
premise_swap = (0, 1)
train_dataloader = dict(dataset=dict(ann_file='premise/train_swap_0_1.txt'))
