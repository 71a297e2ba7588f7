# medkd's synthetic blood cells with their 5 binary attributes as a
# multi-label task (lobed_nucleus, granular, large_cell, dark_stain,
# eccentric_nucleus): 4 cell classes x 200/50/100 images, 32x32 px, generated
# on first use into data/synthetic_cell_attributes (no download).
dataset_type = 'SyntheticCells'
data_root = 'data/synthetic_cell_attributes'
num_classes = 5
synthetic_cfg = dict(
    data_root=data_root, num_classes=4, multi_label=True,
    num_per_class=(200, 50, 100), image_size=32, seed=0)

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
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline,
                 **synthetic_cfg),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, split='val', pipeline=test_pipeline,
                 **synthetic_cfg),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline,
                 **synthetic_cfg),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='MedicalMetric', multi_label=True)
test_evaluator = val_evaluator
