# A short Adam schedule for CPU demos.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3, weight_decay=1e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-5)
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
