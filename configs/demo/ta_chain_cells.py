# The teacher-assistant demo chain in one command (what
# `tools/demo.py --method teacher_assistant` trains, without the baselines):
#   python tools/train_chain.py configs/demo/ta_chain_cells.py
# ResNet-18 teacher -> mid convnet assistant -> tiny convnet student on the
# synthetic cells' 5 multi-label attributes. Each stage trains in
# {work_dir}/{name}.
work_dir = 'work_dirs/demo/ta_chain'
stages = [
    dict(name='teacher', config='ta_resnet18_teacher_cells.py'),
    dict(name='assistant', config='ta_convnet_assistant_cells.py',
         teachers=dict(teacher='teacher')),
    dict(name='student', config='ta_student_from_assistant_cells.py',
         teachers=dict(assistant='assistant')),
]
