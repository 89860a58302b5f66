# A tiny version of the embedded default for runner / CLI / distributed tests:
# T = 16 snippets, 32-d features, 32 training and 8 validation videos, small heads.
_base_ = ['../../configs/etad/etad_1xb16-6e_synthetic-anet-feature.py']

num_snippets = 16
data_root = 'data/tiny_synthetic'  # tests override it with a temporary folder
synthetic = dict(num_train=32, num_val=8, num_classes=5, feature_dim=32, seed=0,
                 write_bmn=False)
common = dict(data_root=data_root, num_snippets=num_snippets, synthetic=synthetic,
              feature_dim=32)
model = dict(
    num_snippets=num_snippets, max_duration=num_snippets,
    neck=dict(in_channels=32, hidden_channels=32, branch_channels=16, out_channels=32,
              num_groups=4),
    boundary_head=dict(in_channels=32, feat_channels=32, num_groups=4),
    roi_head=dict(stage_head=dict(in_channels=32, roi_channels=16, hidden_dims=(32, 16, 16, 16),
                                  num_groups=4),
                  proposal_sampler=dict(type='RandomProposalSampler', ratio=0.25)))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=common)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, dataset=common)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=1)
# keep every epoch's checkpoint: tests resume from epoch 1
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=3))
