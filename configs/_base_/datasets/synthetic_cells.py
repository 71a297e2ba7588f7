# medkd's built-in synthetic blood-cell data (generated on first use, no
# download): 4 classes, 64x64 images, 200/50/100 images per class.
dataset_type = 'SyntheticCells'
data_root = 'data/synthetic_cells'
num_classes = 4
synthetic_cfg = dict(
    data_root=data_root, num_classes=num_classes,
    num_per_class=(200, 50, 100), image_size=64, seed=0)

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5, 127.5, 127.5],
    std=[64.0, 64.0, 64.0],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline,
                 **synthetic_cfg),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, split='val', pipeline=test_pipeline,
                 **synthetic_cfg),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline,
                 **synthetic_cfg),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='MedicalMetric')
test_evaluator = val_evaluator
