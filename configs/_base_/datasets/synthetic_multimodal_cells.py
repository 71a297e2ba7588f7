# medkd's synthetic cells under 4 modalities (generated on first use into
# data/synthetic_cells/cells_..._4m_seed0, no download): a fluorescent colour
# image and red / green / blue bright-field images read as 1-channel
# grayscale, so
# a sample packs 3 + 1 + 1 + 1 = 6 channels. 4 classes, 32x32, 200/50/100
# cells per class. Slot m of the packed input is modality m.
dataset_type = 'SyntheticMultiModalCells'
data_root = 'data/synthetic_cells'
num_classes = 4
modalities = ('fluorescent', 'bf_red', 'bf_green', 'bf_blue')
slot_channels = (3, 1, 1, 1)
synthetic_cfg = dict(
    data_root=data_root, num_classes=num_classes,
    num_per_class=(200, 50, 100), image_size=32, num_modalities=4, seed=0,
    modalities=modalities)

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5] * sum(slot_channels),
    std=[64.0] * sum(slot_channels),
    to_rgb=False,
)

load = dict(
    type='LoadMultiModalImages',
    color_type=dict(fluorescent='color', bf_red='grayscale',
                    bf_green='grayscale', bf_blue='grayscale'))
train_pipeline = [
    load,
    dict(type='MultiModalApply', shared=False, transforms=[
        dict(type='RandomFlip', prob=0.5,
             direction=['horizontal', 'vertical'])]),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [load, dict(type='PackMultiModalInputs')]

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
