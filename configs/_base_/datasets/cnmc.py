# C-NMC 2019 leukaemia cells (GatedMultiTeacher, seed 000): 224x224, the
# notebook's flip / rotation / zoom-crop augmentation, stratified 70:15:15
# split of the three training folds (seed 0). Put the download (or a link to
# it) at data/cnmc2019/ so that data/cnmc2019/training_data/fold_0/ exists.
dataset_type = 'CNMC2019'
data_root = 'data/cnmc2019'
data_preprocessor = dict(
    num_classes=2,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.8, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # Half the images rotate by an angle drawn uniformly from [-30, 30] deg.
    dict(
        type='Rotate',
        magnitude_range=(0, 30),
        magnitude_std='inf',
        pad_val=0,
        interpolation='bilinear',
        prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
val_evaluator = dict(type='MedicalMetric')
test_evaluator = val_evaluator
