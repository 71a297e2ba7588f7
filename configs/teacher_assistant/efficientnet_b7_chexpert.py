# Teacher ensemble, part 2: EfficientNet-B7 on CheXpert (teacher-assistant
# paper; the assistant averages the B6 and B7 logits).
#   python tools/train.py configs/teacher_assistant/efficientnet_b7_chexpert.py
_base_ = [
    '../_base_/models/efficientnet_b7_chexpert.py',
    '../_base_/datasets/chexpert.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
model = _base_.efficientnet_b7_chexpert
# Multi-label: keep the checkpoint with the best mean per-label AUC.
default_hooks = dict(
    checkpoint=dict(save_best='medical/auc_mean', rule='greater'))
