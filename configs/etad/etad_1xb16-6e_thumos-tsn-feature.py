# ETAD on THUMOS-14 TSN features (RGB + flow, 2048-d; Table 3): windows of 128 snippets.
_base_ = [
    '../_base_/models/etad.py', '../_base_/datasets/thumos-tsn_feature.py',
    '../_base_/schedules/adamw_6e.py', '../_base_/default_runtime.py'
]
model = dict(num_snippets=128, max_duration=128, neck=dict(in_channels=2048))
