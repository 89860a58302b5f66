# Preset decision table (issue: paper preset vs official preset, one difference at a
# time), base row: the paper-text preset on the sweep benchmark at 12 epochs (lr x0.1
# after epoch 10), long enough for both presets to converge on this data.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

train_cfg = dict(max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[10], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=12))
ablation = dict(row='paper text', order=0)
