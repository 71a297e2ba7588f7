# Demo early fusion + KD (seed 002, Table 1): the early-fusion convnet
# distilled (vanilla KD, T=4) from the whole late-fusion model
# (its log-averaged probabilities act as logits).
#   python tools/train.py configs/demo/mm_early_fusion_kd_cells.py \
#       --cfg-options model.teachers.late_fusion.ckpt=PATH
_base_ = ['./mm_early_fusion_cells.py']
# Default teacher path: where `tools/demo.py` trains the teacher (or
# train it with `tools/train.py <teacher config> --work-dir <that dir>`).
teacher_ckpt = 'work_dirs/demo/mm_late_fusion_cells/epoch_30.pth'
member = _base_.convnet_mm_cells
model = dict(
    _delete_=True,
    type='VanillaKD',
    student=_base_.model,
    teachers=dict(
        late_fusion=dict(
            model=dict(
                type='LateFusionClassifier',
                slot_channels=_base_.slot_channels,
                members={
                    name: dict(model=dict(
                        member,
                        backbone=dict(member.backbone, in_channels=channels)))
                    for name, channels in zip(_base_.modalities,
                                              _base_.slot_channels)
                }),
            ckpt=teacher_ckpt)),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='KDLoss', temperature=4.0),
)
