# COVID case study (teacher-assistant paper, Table 2a: accuracy 0.9788,
# weighted F1 0.9790): Inception-V3 teacher, Normal / Pneumonia / Covid,
# class-balanced sampling, Adam lr 1e-2.
#   python tools/train.py configs/teacher_assistant/inception_v3_teacher_covid.py
# or the whole chain: tools/train_chain.py .../covid_chain.py
_base_ = [
    '../_base_/models/inception_v3_covid.py',
    '../_base_/datasets/covid_cxr.py',
    '../_base_/schedules/teacher_assistant_adam_10e.py',
    '../_base_/default_runtime.py'
]
model = _base_.inception_v3_covid
optim_wrapper = dict(optimizer=dict(lr=1e-2))
