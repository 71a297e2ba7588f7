# Capacity-gap sweep: the demo's (8, 16, 32) student distilled from the
# assistant with multi-label DIST on the logits (the recipe that helps it
# from the teacher, ../ta_student_mldist_logits_from_teacher_cells.py), so
# that "from teacher" and "from assistant" differ only in the upper model.
#   python tools/demo.py --method teacher_assistant_gap --seeds 3
_base_ = ['../ta_student_from_assistant_cells.py']
model = dict(
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(
        _delete_=True, type='MultiLabelDISTLoss', beta=2.0, gamma=2.0,
        temperature=4.0),
    feature_pairs=[])
