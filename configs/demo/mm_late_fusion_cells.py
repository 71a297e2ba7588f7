# Demo late fusion (seed 002, Fig. 2b): one convnet per modality, softmax
# outputs averaged. The members train together (the sum of their own losses,
# i.e. 4 independent trainings in one run); the test also reports each
# member alone (metric prefixes fluorescent/, bf_red/, ...). Its checkpoint is
# the teacher of the KD demos.
#   python tools/train.py configs/demo/mm_late_fusion_cells.py
_base_ = [
    '../_base_/models/convnet_mm_cells.py',
    '../_base_/datasets/synthetic_multimodal_cells.py',
    '../_base_/schedules/adam_demo_long.py', '../_base_/default_runtime.py'
]
member = _base_.convnet_mm_cells
model = dict(
    type='LateFusionClassifier',
    slot_channels=_base_.slot_channels,
    members={
        name: dict(model=dict(
            member, backbone=dict(member.backbone, in_channels=channels)))
        for name, channels in zip(_base_.modalities, _base_.slot_channels)
    })
test_evaluator = [dict(type='MedicalMetric')] + [
    dict(type='MedicalMetric', score_field=f'pred_score_{name}', prefix=name)
    for name in _base_.modalities
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
