# Student (alone or distilled) of the gated multi-teacher paper (Table 1):
# Adam, 650 epochs, batch 64, L2 0.016 (= weight decay 0.032).
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.032))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-6)
train_cfg = dict(by_epoch=True, max_epochs=650, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
