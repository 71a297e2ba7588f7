# ShuffleNetV2 on the color1 modality alone (seed 002, Table 1: weighted F1
# 94.17 over 5 folds; 147.79M FLOPs, 1.259M params).
#   python tools/train.py configs/mm_mimo/shufflenetv2_color1_wbc.py
#   python tools/analysis_tools/cross_validate.py \
#       configs/mm_mimo/shufflenetv2_color1_wbc.py --folds 5
_base_ = [
    '../_base_/models/shufflenetv2_wbc.py',
    '../_base_/datasets/multimodal_wbc.py',
    '../_base_/schedules/mm_wbc_100e.py', '../_base_/default_runtime.py'
]
modality = 'color1'
train_dataloader = dict(dataset=dict(modalities=(modality, )))
val_dataloader = dict(dataset=dict(modalities=(modality, )))
test_dataloader = dict(dataset=dict(modalities=(modality, )))
data_preprocessor = dict(mean=_base_.modality_mean, std=_base_.modality_std)
model = _base_.shufflenetv2_wbc
