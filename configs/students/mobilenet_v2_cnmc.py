# MobileNetV2 trained alone on C-NMC 2019: the baseline of the gated
# multi-teacher paper (Table 2: accuracy 0.948, weighted F1 0.95).
#   bash tools/dist_train.sh configs/students/mobilenet_v2_cnmc.py 4
_base_ = [
    '../_base_/models/mobilenet_v2_cnmc.py', '../_base_/datasets/cnmc.py',
    '../_base_/schedules/cnmc_student_650e.py', '../_base_/default_runtime.py'
]
model = _base_.mobilenet_v2_cnmc
