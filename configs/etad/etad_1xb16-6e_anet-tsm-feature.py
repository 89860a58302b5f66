# ETAD on ActivityNet-1.3 TSM-ResNet50 features (2048-d): the pre-extracted setting of
# the sampling study (Table 5, Fig. 4b); the paper recipe otherwise.
_base_ = [
    '../_base_/models/etad.py', '../_base_/datasets/activitynet-tsm_feature.py',
    '../_base_/schedules/adamw_6e.py', '../_base_/default_runtime.py'
]
model = dict(num_snippets=128, max_duration=128, neck=dict(in_channels=2048))
