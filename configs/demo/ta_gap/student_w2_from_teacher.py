# Capacity-gap sweep: the (2, 4, 8) student distilled from the teacher
# directly (multi-label DIST on the logits, the demo's best TA recipe).
#   python tools/demo.py --method teacher_assistant_gap --seeds 3
_base_ = ['../ta_student_mldist_logits_from_teacher_cells.py']
model = dict(student=dict(
    backbone=dict(channels=(2, 4, 8)), head=dict(in_channels=8)))
