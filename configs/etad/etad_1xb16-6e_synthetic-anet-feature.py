# The embedded default: semi-synthetic ActivityNet-shaped features generated on first
# use (no download), sized to train and evaluate in minutes on 2 CPU cores:
# T = 64 snippets, 400 training and 100 validation videos, DPS 6% random.
_base_ = ['./etad_1xb16-6e_synthetic-anet-full-feature.py']

num_snippets = 64
data_root = 'data/synthetic_anet_small'
synthetic = dict(num_train=400, num_val=100, num_classes=200, feature_dim=400, seed=0)
common = dict(data_root=data_root, num_snippets=num_snippets, synthetic=synthetic)

model = dict(num_snippets=num_snippets, max_duration=num_snippets)
train_dataloader = dict(dataset=common)
val_dataloader = dict(dataset=common)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=6, val_interval=2)
default_hooks = dict(logger=dict(interval=5))
