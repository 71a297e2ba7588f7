# The paper's gated KD (../gated_resnet18_convnet_cells.py) on 8-class
# synthetic cells with their own teachers.
#   python tools/demo.py --method gated_transfer --seeds 3
_base_ = [
    '../gated_resnet18_convnet_cells.py',
    '../../_base_/datasets/synthetic_cells8.py'
]
data_preprocessor = dict(num_classes=8)
model = dict(
    student=dict(head=dict(num_classes=8)),
    teachers=dict(
        resnet18=dict(
            config='{{fileDirname}}/resnet18_teacher.py',
            ckpt='work_dirs/demo/cells8/resnet18_teacher/epoch_12.pth'),
        convnet_wide=dict(
            config='{{fileDirname}}/convnet_wide_teacher.py',
            ckpt='work_dirs/demo/cells8/convnet_wide_teacher/epoch_30.pth')))
train_dataloader = dict(dataset=_base_.cells8)
val_dataloader = dict(dataset=_base_.cells8)
test_dataloader = dict(dataset=_base_.cells8)
