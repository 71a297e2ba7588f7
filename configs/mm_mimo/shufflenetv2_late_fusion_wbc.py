# ShuffleNetV2 late fusion (seed 002, Fig. 2b; Table 1: weighted F1 95.98;
# 591.16M FLOPs, 5.036M params):
# one network per modality, softmax outputs averaged.
# The 4 members train together (the sum of their own losses = 4 independent
# trainings); the test also reports each member (prefixes fluorescent/, ...).
# Its checkpoint is the teacher of the *_kd_wbc.py configs.
#   python tools/train.py configs/mm_mimo/shufflenetv2_late_fusion_wbc.py
_base_ = [
    '../_base_/models/shufflenetv2_wbc.py',
    '../_base_/datasets/multimodal_wbc.py',
    '../_base_/schedules/mm_wbc_100e.py', '../_base_/default_runtime.py'
]
model = dict(
    type='LateFusionClassifier',
    slot_channels=_base_.slot_channels,
    members={name: dict(model=_base_.shufflenetv2_wbc)
             for name in _base_.modalities})
test_evaluator = [dict(type='MedicalMetric')] + [
    dict(type='MedicalMetric', score_field=f'pred_score_{name}', prefix=name)
    for name in _base_.modalities
]
