# ETAD on HACS SlowFast features (App. D): as ActivityNet with T = 224 and lr 4e-4.
_base_ = [
    '../_base_/models/etad.py', '../_base_/datasets/hacs-slowfast_feature.py',
    '../_base_/schedules/adamw_6e.py', '../_base_/default_runtime.py'
]
model = dict(num_snippets=224, max_duration=224, neck=dict(in_channels=2304))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
