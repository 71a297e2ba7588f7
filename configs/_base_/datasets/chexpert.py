# CheXpert-v1.0-small (teacher-assistant paper, seed 004): 14 observations,
# multi-label. Train on 90% of train.csv's patients (uncertain labels -> 1,
# U-Ones), select checkpoints on the frontal images of the other 10%
# (split='val', grouped by patient), and test on the 202 frontal images of
# valid.csv (the official radiologist-labelled set; the paper reports on it,
# its labels have no uncertain entries). Put the download (or a link)
# at data/chexpert/ so that data/chexpert/CheXpert-v1.0-small/train.csv
# exists. U-Ignore: uncertainty='ignore' masks uncertain labels out of the
# distillers' losses and the metric (plain classifier stages count them as
# negatives).
dataset_type = 'CheXpert'
data_root = 'data/chexpert'
num_classes = 14
chexpert_cfg = dict(type=dataset_type, data_root=data_root)

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# No flips: left and right are not interchangeable on a chest X-ray.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.85, 1.0)),
    dict(type='PackInputs', algorithm_keys=['gt_label_mask']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs', algorithm_keys=['gt_label_mask']),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        **chexpert_cfg,
        split='train',
        uncertainty='ones',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **chexpert_cfg,
        split='val',
        frontal_only=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **chexpert_cfg,
        split='test',
        frontal_only=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='MedicalMetric', multi_label=True)
test_evaluator = val_evaluator
