# Teacher-assistant paper (seed 004), every stage: Adam, lr 1e-3, weight decay
# 1e-5. The paper gives no epoch count or LR schedule: 10 epochs, constant LR.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16)
