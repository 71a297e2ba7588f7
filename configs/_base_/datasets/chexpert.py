# CheXpert-v1.0-small (teacher-assistant paper, seed 004): 14 observations,
# multi-label. Train on train.csv (uncertain labels -> 1, U-Ones); validate
# and test on the 202 frontal images of valid.csv (the paper's validation
# set; its labels have no uncertain entries). Put the download (or a link)
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
        split='valid',
        frontal_only=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MedicalMetric', multi_label=True)
test_evaluator = val_evaluator
