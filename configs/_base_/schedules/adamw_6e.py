# Appendix B.2: AdamW, lr 1e-3, weight decay 1e-4, 6 epochs, lr x0.1 after epoch 5.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=6, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=None)

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=6, by_epoch=True, milestones=[5], gamma=0.1)
]
# The recipe's batch: 16 videos on one GPU.
auto_scale_lr = dict(enable=False, base_batch_size=16)
