# Premise of the gated demo (data built for the purpose): a wide-convnet
# teacher that is an expert on two classes only. It trains on the demo's
# synthetic cells with the eosinophil and monocyte labels swapped, so it is
# right on neutrophils and lymphocytes and confidently wrong on the other
# two; premise_teacher_swap01_cells.py is its mirror image. A per-sample
# weighting must pick the right expert for each cell to beat both single
# teachers and their mean (which ties the swapped pair).
# `tools/demo.py --method gated_premise` writes the list
# (premise/train_swap_2_3.txt below the data root) before training; a run
# without it stops at the missing file.
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./convnet_wide_teacher_cells.py']
premise_swap = (2, 3)  # the labels exchanged in the training list
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/synthetic_cells',
        ann_file='premise/train_swap_2_3.txt',
        data_prefix='',
        metainfo=dict(
            classes=('neutrophil', 'lymphocyte', 'eosinophil', 'monocyte')),
        pipeline=_base_.train_pipeline))
