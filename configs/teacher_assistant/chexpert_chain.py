# The teacher-assistant paper's CheXpert experiment (Table 1) in one command:
#   python tools/train_chain.py configs/teacher_assistant/chexpert_chain.py
# teacher ensemble (B6, B7) -> DenseNet-121 assistant -> 3-block student,
# then the two baselines of Table 1 (student from the teacher, student
# alone). Each stage trains in {work_dir}/{name}; rerunning skips finished
# stages and resumes an interrupted one.
work_dir = 'work_dirs/chexpert_chain'
stages = [
    dict(name='teacher_b6', config='efficientnet_b6_chexpert.py'),
    dict(name='teacher_b7', config='efficientnet_b7_chexpert.py'),
    dict(name='assistant', config='densenet121_assistant_chexpert.py',
         teachers=dict(b6='teacher_b6', b7='teacher_b7')),
    dict(name='student', config='convnet3_student_chexpert.py',
         teachers=dict(assistant='assistant')),
    dict(name='student_from_teacher',
         config='convnet3_from_teacher_chexpert.py',
         teachers=dict(b6='teacher_b6', b7='teacher_b7')),
    dict(name='student_alone', config='convnet3_alone_chexpert.py'),
]
