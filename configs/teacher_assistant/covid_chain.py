# The teacher-assistant paper's COVID case study (Table 2) in one command:
#   python tools/train_chain.py configs/teacher_assistant/covid_chain.py
# Inception-V3 teacher -> DenseNet-121 assistant -> 3-block student, plus the
# student alone as a baseline. Each stage trains in {work_dir}/{name}.
work_dir = 'work_dirs/covid_chain'
stages = [
    dict(name='teacher', config='inception_v3_teacher_covid.py'),
    dict(name='assistant', config='densenet121_assistant_covid.py',
         teachers=dict(teacher='teacher')),
    dict(name='student', config='convnet3_student_covid.py',
         teachers=dict(assistant='assistant')),
    dict(name='student_alone', config='convnet3_alone_covid.py'),
]
