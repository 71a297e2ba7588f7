# Teacher-assistant demo: the tiny convnet distilled directly from the
# ResNet-18 teacher with MultiLabelDISTLoss on the logits only (no feature
# terms): ta_student_mldist_from_teacher_cells.py without its
# feature_pairs, to tell the loss's effect from the feature terms'.
#   python tools/demo.py --method teacher_assistant   (the multi-label DIST rows)
_base_ = ['./ta_student_mldist_from_teacher_cells.py']
model = dict(feature_pairs=[])
