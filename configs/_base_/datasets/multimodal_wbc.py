# Multimodal WBC dataset of seed 002 (Yang et al., "Leukocyte Classification
# using Multimodal Architecture Enhanced by Knowledge Distillation"): 14,912
# cells, each imaged under 4 light sources (fluorescent + 3 bright-field
# colours), 5 classes (NEU 9616, LYM 4448, EOS 677, MO 124, BAS 47).
# Layout: data/multimodal_wbc/annotations.csv with columns
#   id,label,fluorescent,color1,color2,color3
# (label = class name or index, paths relative to data/multimodal_wbc).
# 5-fold cross-validation by cell (fold 0 here; all folds with
# tools/analysis_tools/cross_validate.py CONFIG --folds 5), RandAugment N=2
# M=18 (of 30) per image, centre crop 224. Each modality is read as a colour
# image, so a cell packs 4 x 3 = 12 channels (the paper's ResNet-34 early
# fusion has 21.315M = 21.287M + 64*7*7*9 parameters).
dataset_type = 'MultiModalCells'
data_root = 'data/multimodal_wbc'
ann_file = 'annotations.csv'
classes = ('NEU', 'LYM', 'EOS', 'MO', 'BAS')
num_classes = 5
modalities = ('fluorescent', 'color1', 'color2', 'color3')
slot_channels = (3, 3, 3, 3)
folds = dict(num_folds=5, fold=0, seed=0)

# Images are kept in BGR order (to_rgb must stay False with > 3 channels);
# the same per-channel statistics for every modality.
modality_mean = [103.53, 116.28, 123.675]
modality_std = [57.375, 57.12, 58.395]
data_preprocessor = dict(
    num_classes=num_classes,
    mean=modality_mean * len(modalities),
    std=modality_std * len(modalities),
    to_rgb=False)

train_pipeline = [
    dict(type='LoadMultiModalImages', color_type='color'),
    dict(
        type='MultiModalApply',
        shared=False,
        transforms=[
            dict(type='CenterCrop', crop_size=224),
            dict(type='RandAugment', policies='timm_increasing',
                 num_policies=2, total_level=30, magnitude_level=18,
                 magnitude_std=0.0, hparams=dict(pad_val=128)),
        ]),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalImages', color_type='color'),
    dict(type='MultiModalApply',
         transforms=[dict(type='CenterCrop', crop_size=224)]),
    dict(type='PackMultiModalInputs'),
]

dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=ann_file,
    modalities=modalities,
    metainfo=dict(classes=classes),
    **folds)
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='MedicalMetric')
test_evaluator = val_evaluator
