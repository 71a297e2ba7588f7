# Teacher 1 of the transfer check: the demo's ResNet-18 recipe re-pointed at
# 8-class synthetic cells (_base_/datasets/synthetic_cells8.py), as a user
# re-points it at their own data.
#   python tools/demo.py --method gated_transfer --seeds 3
_base_ = [
    '../resnet18_teacher_cells.py',
    '../../_base_/datasets/synthetic_cells8.py'
]
data_preprocessor = dict(num_classes=8)
model = dict(head=dict(num_classes=8))
train_dataloader = dict(dataset=_base_.cells8)
val_dataloader = dict(dataset=_base_.cells8)
test_dataloader = dict(dataset=_base_.cells8)
