# Demo DIST KD from the ResNet-18 teacher alone (the `gated` demo's
# single-teacher row for teacher 1; teacher 2's is
# configs/demo/dist_convnet_wide_convnet_cells.py).
#   python tools/demo.py --method gated --seeds 3
_base_ = ['./kd_resnet18_convnet_cells.py']
model = dict(
    cls_weight=0.5,
    kd_weight=0.5,
    kd_loss=dict(
        _delete_=True, type='DISTLoss', beta=2.0, gamma=2.0,
        temperature=4.0))
teacher_cache = dict(num_views=8)
