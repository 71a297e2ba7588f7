# Schedule of the multimodal WBC configs. The paper does not state its
# optimiser or epochs; this is our choice: Adam, lr 1e-3, cosine, 100 epochs,
# batch 64.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-6)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
