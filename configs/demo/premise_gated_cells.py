# Premise of the gated demo: the paper's gated KD
# (gated_resnet18_convnet_cells.py: ImageGate trained through the
# distillation term, DIST, same schedule) with the two class-expert
# teachers of premise_teacher_swap*_cells.py.
#   python tools/demo.py --method gated_premise --seeds 3
_base_ = ['./gated_resnet18_convnet_cells.py']
teacher_ckpts = dict(
    swap23='work_dirs/demo/premise_teacher_swap23_cells/epoch_30.pth',
    swap01='work_dirs/demo/premise_teacher_swap01_cells/epoch_30.pth')
model = dict(teachers=dict(
    _delete_=True,
    swap23=dict(config='{{fileDirname}}/convnet_wide_teacher_cells.py',
                ckpt=teacher_ckpts['swap23']),
    swap01=dict(config='{{fileDirname}}/convnet_wide_teacher_cells.py',
                ckpt=teacher_ckpts['swap01'])))
