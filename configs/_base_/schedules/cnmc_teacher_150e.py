# Teachers of the gated multi-teacher paper (Table 1): 150 epochs, batch 64,
# RAdam (the paper adds Lookahead, not used here) and an L2 kernel penalty of
# 0.016 (= weight decay 0.032 on the gradient).
optim_wrapper = dict(
    optimizer=dict(type='RAdam', lr=1e-3, weight_decay=0.032))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-6)
train_cfg = dict(by_epoch=True, max_epochs=150, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
