# ShuffleNetV2 MM-MIMO (seed 002, Fig. 3a; Table 1: weighted F1 95.65;
# 172.19M FLOPs, 1.276M params):
# one network on the 12 packed channels with 4 x 5 outputs.
# Training slot m holds modality m of an independently drawn cell
# (MIMOSampler, rho=0), L_M = sum_m CE(z_m, y_m); testing feeds the same cell
# to every slot and averages the 4 softmax outputs.
#   python tools/train.py configs/mm_mimo/shufflenetv2_mimo_wbc.py
#   python tools/analysis_tools/head_confidence.py \
#       configs/mm_mimo/shufflenetv2_mimo_wbc.py CKPT --out heads.png
_base_ = [
    '../_base_/models/shufflenetv2_wbc.py',
    '../_base_/datasets/multimodal_wbc.py',
    '../_base_/schedules/mm_wbc_100e.py', '../_base_/default_runtime.py'
]
model = dict(
    type='MIMOClassifier',
    slot_channels=_base_.slot_channels,
    backbone=dict(_base_.shufflenetv2_wbc.backbone,
                  in_channels=sum(_base_.slot_channels)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MIMOClsHead', num_classes=_base_.num_classes,
              in_channels=1024))
train_dataloader = dict(
    sampler=dict(type='MIMOSampler', rho=0.0, repeats=1),
    dataset=dict(
        _delete_=True,
        type='MIMODataset',
        dataset=_base_.train_dataloader.dataset))
