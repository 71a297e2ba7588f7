# ResNet-34 MM-MIMO + KD (seed 002, Fig. 3b; Table 1: weighted F1 96.13,
# the best row; 4024.80M FLOPs, 21.323M params): head m also matches the
# late-fusion member of modality m, which sees slot m only:
# L_T = L_M + T^2 sum_m KL(softmax_T(teacher_m) || softmax_T(head_m)), T=4.
# Each teacher loads its member from the late-fusion checkpoint.
#   python tools/train.py configs/mm_mimo/resnet34_mimo_kd_wbc.py
# Cross-validation with the teacher of each fold:
#   python tools/analysis_tools/cross_validate.py \
#       configs/mm_mimo/resnet34_mimo_kd_wbc.py --folds 5 \
#       --fold-cfg-options \
#       model.teachers.fluorescent.ckpt=CV_LATE/fold_{fold}/epoch_100.pth ...
# (the same for color1, color2, color3; CV_LATE = the late-fusion
# cross-validation work dir)
_base_ = ['./resnet34_mimo_wbc.py']
teacher_ckpt = 'work_dirs/resnet34_late_fusion_wbc/epoch_100.pth'
model = dict(
    _delete_=True,
    type='MultiModalMIMO',
    student=_base_.model,
    teachers={
        name: dict(model=_base_.resnet34_wbc, ckpt=teacher_ckpt)
        for name in _base_.modalities
    },
    kd_loss=dict(type='KDLoss', temperature=4.0),
)
