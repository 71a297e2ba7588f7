# Swin-B teacher on C-NMC 2019 (gated multi-teacher paper, Table 2: accuracy
# 0.985, weighted F1 0.98). Batch 64 = 16 per GPU x 4 GPUs:
#   bash tools/dist_train.sh configs/teachers/swin_base_cnmc.py 4
_base_ = [
    '../_base_/models/swin_base_cnmc.py', '../_base_/datasets/cnmc.py',
    '../_base_/schedules/cnmc_teacher_150e.py', '../_base_/default_runtime.py'
]
model = _base_.swin_base_cnmc
