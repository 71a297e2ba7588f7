# COVID-19 case study of the teacher-assistant paper (seed 004): 3-class
# chest X-ray folders (Kaggle chest-xray-pneumonia + ieee8023
# covid-chestxray-dataset, 6,291 images, 301 Covid), class-balanced sampling
# (the paper over-samples Covid and under-samples Pneumonia). Layout:
#   data/covid_cxr/{train,val,test}/{Covid,Normal,Pneumonia}/*.{png,jpg,jpeg}
# Class indices follow the sorted folder names: Covid 0, Normal 1,
# Pneumonia 2.
dataset_type = 'CustomDataset'
data_root = 'data/covid_cxr'
num_classes = 3

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.85, 1.0)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='ClassBalancedSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='test',
        pipeline=test_pipeline))
val_evaluator = dict(type='MedicalMetric')
test_evaluator = val_evaluator
