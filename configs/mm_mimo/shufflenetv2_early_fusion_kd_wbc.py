# ShuffleNetV2 early fusion + KD (seed 002, Table 1: weighted F1 95.68):
# vanilla KD (T=4) from the whole late-fusion model.
#   python tools/train.py configs/mm_mimo/shufflenetv2_early_fusion_kd_wbc.py \
#       --cfg-options model.teachers.late_fusion.ckpt=PATH
# Under cross-validation each fold needs its own teacher, e.g.
#   --fold-cfg-options \
#       model.teachers.late_fusion.ckpt=DIR/fold_{fold}/epoch_100.pth
_base_ = ['./shufflenetv2_early_fusion_wbc.py']
teacher_ckpt = 'work_dirs/shufflenetv2_late_fusion_wbc/epoch_100.pth'
model = dict(
    _delete_=True,
    type='VanillaKD',
    student=_base_.model,
    teachers=dict(
        late_fusion=dict(
            model=dict(
                type='LateFusionClassifier',
                slot_channels=_base_.slot_channels,
                members={name: dict(model=_base_.shufflenetv2_wbc)
                         for name in _base_.modalities}),
            ckpt=teacher_ckpt)),
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(type='KDLoss', temperature=4.0),
)
