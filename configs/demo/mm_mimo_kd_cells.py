# Demo MM-MIMO + KD (seed 002, Fig. 3b): head m of the MM-MIMO convnet also
# matches the late-fusion member of modality m, which sees slot m only:
# L_T = L_M + T^2 sum_m KL(softmax_T(teacher_m) || softmax_T(head_m)), T=4.
# Each teacher loads its member from the late-fusion checkpoint.
#   python tools/train.py configs/demo/mm_mimo_kd_cells.py \
#       --cfg-options model.teachers.fluorescent.ckpt=PATH ...
_base_ = ['./mm_mimo_cells.py']
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpt = 'work_dirs/demo/mm_late_fusion_cells/epoch_30.pth'
member = _base_.convnet_mm_cells
model = dict(
    _delete_=True,
    type='MultiModalMIMO',
    student=_base_.model,
    teachers={
        name: dict(
            model=dict(member,
                       backbone=dict(member.backbone, in_channels=channels)),
            ckpt=teacher_ckpt)
        for name, channels in zip(_base_.modalities, _base_.slot_channels)
    },
    kd_loss=dict(type='KDLoss', temperature=4.0),
)
