# Benchmark-sized semi-synthetic ActivityNet-shaped data: T = 128, 1,000 training and
# 300 validation videos, the paper recipe otherwise.
_base_ = [
    '../_base_/models/etad.py', '../_base_/datasets/synthetic-anet_feature.py',
    '../_base_/schedules/adamw_6e.py', '../_base_/default_runtime.py'
]
model = dict(num_snippets=128, max_duration=128, neck=dict(in_channels=400))
