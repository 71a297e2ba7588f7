# Schedule of the CheckpointSequence paper (teacher and students alike):
# Adam lr 1e-3, StepLR (step 5 epochs, gamma 0.5), batch 64, 50 epochs.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=5, gamma=0.5)
train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
