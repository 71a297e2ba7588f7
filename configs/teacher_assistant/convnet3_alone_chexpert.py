# Baseline: the 3-block student trained alone on CheXpert (teacher-assistant
# paper, Table 1 "Student alone": precision 0.68, recall 0.27, F1 0.39).
#   python tools/train.py configs/teacher_assistant/convnet3_alone_chexpert.py
_base_ = [
    '../_base_/models/convnet3_chexpert.py',
    '../_base_/datasets/chexpert.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
model = _base_.convnet3_chexpert
# Multi-label: keep the checkpoint with the best mean per-label AUC.
default_hooks = dict(
    checkpoint=dict(save_best='medical/auc_mean', rule='greater'))
