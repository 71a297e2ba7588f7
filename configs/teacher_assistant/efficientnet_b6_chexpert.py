# Teacher ensemble, part 1: EfficientNet-B6 on CheXpert (teacher-assistant
# paper, Table 1 "Teacher alone" = mean of the B6 and B7 logits: precision
# 0.968, recall 0.823, F1 0.882).
#   python tools/train.py configs/teacher_assistant/efficientnet_b6_chexpert.py
# or the whole chain: tools/train_chain.py .../chexpert_chain.py
_base_ = [
    '../_base_/models/efficientnet_b6_chexpert.py',
    '../_base_/datasets/chexpert.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
model = _base_.efficientnet_b6_chexpert
# Multi-label: keep the checkpoint with the best mean per-label AUC.
default_hooks = dict(
    checkpoint=dict(save_best='medical/auc_mean', rule='greater'))
