# ResNet-34 late fusion (seed 002, Fig. 2b; Table 1: weighted F1 96.04;
# 14683.02M FLOPs, 85.148M params):
# one network per modality, softmax outputs averaged.
# The 4 members train together (the sum of their own losses = 4 independent
# trainings); the test also reports each member (prefixes fluorescent/, ...).
# Its checkpoint is the teacher of the *_kd_wbc.py configs.
#   python tools/train.py configs/mm_mimo/resnet34_late_fusion_wbc.py
_base_ = [
    '../_base_/models/resnet34_wbc.py', '../_base_/datasets/multimodal_wbc.py',
    '../_base_/schedules/mm_wbc_100e.py', '../_base_/default_runtime.py'
]
model = dict(
    type='LateFusionClassifier',
    slot_channels=_base_.slot_channels,
    members={name: dict(model=_base_.resnet34_wbc)
             for name in _base_.modalities})
test_evaluator = [dict(type='MedicalMetric')] + [
    dict(type='MedicalMetric', score_field=f'pred_score_{name}', prefix=name)
    for name in _base_.modalities
]
