# COVID case study baseline: the 3-block student trained alone (not in the
# paper's Table 2; the reference point for the distilled student).
#   python tools/train.py configs/teacher_assistant/convnet3_alone_covid.py
_base_ = [
    '../_base_/models/convnet3_covid.py',
    '../_base_/datasets/covid_cxr.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
model = _base_.convnet3_covid
