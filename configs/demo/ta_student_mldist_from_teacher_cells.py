# Teacher-assistant demo: the tiny convnet distilled directly from the
# ResNet-18 teacher with DIST's relation terms on the per-label sigmoid
# scores (MultiLabelDISTLoss) in place of the soft BCE, and the same
# Wasserstein feature terms as ta_student_from_teacher_cells.py. The loss
# weights and temperature are the kd demo's DIST choice (cls 0.5, kd 0.5,
# beta = gamma = 2, T = 4), not tuned on this data.
#   python tools/demo.py --method teacher_assistant   (the multi-label DIST rows)
_base_ = ['./ta_student_from_teacher_cells.py']
model = dict(
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(
        _delete_=True, type='MultiLabelDISTLoss', beta=2.0, gamma=2.0,
        temperature=4.0))
