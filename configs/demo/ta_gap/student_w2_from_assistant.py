# Capacity-gap sweep: the (2, 4, 8) student distilled from the
# assistant (multi-label DIST on the logits, as from the teacher).
#   python tools/demo.py --method teacher_assistant_gap --seeds 3
_base_ = ['./student_w8_from_assistant.py']
model = dict(student=dict(
    backbone=dict(channels=(2, 4, 8)), head=dict(in_channels=8)))
