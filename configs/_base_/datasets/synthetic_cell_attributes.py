# medkd's synthetic blood cells with their 5 binary attributes as a
# multi-label task (lobed_nucleus, granular, large_cell, dark_stain,
# eccentric_nucleus): 4 cell classes x 200/50/100 images, 32x32 px, generated
# on first use into data/synthetic_cell_attributes (no download).
_base_ = ['./synthetic_cells.py']
data_root = 'data/synthetic_cell_attributes'
num_classes = 5
synthetic_cfg = dict(
    data_root=data_root, num_classes=4, multi_label=True,
    num_per_class=(200, 50, 100), image_size=32, seed=0)
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(dataset=synthetic_cfg)
val_dataloader = dict(dataset=synthetic_cfg)
test_dataloader = dict(dataset=synthetic_cfg)
val_evaluator = dict(type='MedicalMetric', multi_label=True)
test_evaluator = val_evaluator
