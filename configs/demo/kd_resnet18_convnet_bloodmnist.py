# The demo's vanilla KD on BloodMNIST: the tiny convnet distilled from the
# ResNet-18 trained by resnet18_teacher_bloodmnist.py. Only the dataset and
# the class count differ from the synthetic-data demo.
#   python tools/train.py configs/demo/kd_resnet18_convnet_bloodmnist.py
_base_ = ['./kd_resnet18_convnet_cells.py']
medmnist = dict(
    type='MedMNIST', data_root='data/medmnist', flag='bloodmnist', size=64)
data_preprocessor = dict(num_classes=8, to_rgb=False)
model = dict(
    student=dict(head=dict(num_classes=8)),
    teachers=dict(
        resnet18=dict(
            config='{{fileDirname}}/resnet18_teacher_bloodmnist.py',
            ckpt='work_dirs/demo/resnet18_teacher_bloodmnist/epoch_12.pth')))
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
