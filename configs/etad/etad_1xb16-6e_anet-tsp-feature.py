# ETAD on ActivityNet-1.3 TSP features: the paper recipe (App. B.2): batch 16, AdamW
# lr 1e-3, weight decay 1e-4, 6 epochs, lr x0.1 after epoch 5, DPS 6% random.
_base_ = [
    '../_base_/models/etad.py', '../_base_/datasets/activitynet-tsp_feature.py',
    '../_base_/schedules/adamw_6e.py', '../_base_/default_runtime.py'
]
model = dict(num_snippets=128, max_duration=128, neck=dict(in_channels=512))
