# The demo teacher moved to real data by config inheritance: ResNet-18 on
# BloodMNIST (MedMNIST v2, 8 blood cell classes, 64x64). MedMNIST v2 reports
# 0.958 accuracy for ResNet-18 (28px). Put bloodmnist_64.npz, downloaded
# from the MedMNIST release, in data/medmnist/, then
#   python tools/train.py configs/demo/resnet18_teacher_bloodmnist.py
_base_ = ['./resnet18_teacher_cells.py']
medmnist = dict(
    type='MedMNIST', data_root='data/medmnist', flag='bloodmnist', size=64)
data_preprocessor = dict(num_classes=8, to_rgb=False)  # .npz is RGB already
model = dict(head=dict(num_classes=8))
train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(
    _delete_=True, split='train', pipeline=train_pipeline, **medmnist))
val_dataloader = dict(dataset=dict(
    _delete_=True, split='val', pipeline=test_pipeline, **medmnist))
test_dataloader = dict(dataset=dict(
    _delete_=True, split='test', pipeline=test_pipeline, **medmnist))
