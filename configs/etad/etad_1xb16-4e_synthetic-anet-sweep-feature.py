# Ablation-sweep size of the embedded synthetic default (docs/benchmarks.md, sections 2
# and 3: DPS ratios, sampling strategies x seeds): 200 training / 100 validation videos,
# T = 64, 4 epochs (lr x0.1 after epoch 3), validated once at the end; about 3 minutes
# per run at DPS 6% on 2 CPU cores. `tools/analysis/dps_sweep.py` runs it.
_base_ = ['./etad_1xb16-6e_synthetic-anet-feature.py']

data_root = 'data/synthetic_anet_sweep'
synthetic = dict(num_train=200, num_val=100, num_classes=200, feature_dim=400, seed=0)
common = dict(data_root=data_root, synthetic=synthetic)
train_dataloader = dict(dataset=common)
val_dataloader = dict(dataset=common)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=4, val_interval=4)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=4, by_epoch=True, milestones=[3], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=4, save_best=None, max_keep_ckpts=1))
