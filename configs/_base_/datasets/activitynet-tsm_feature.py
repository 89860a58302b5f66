# ActivityNet-1.3 with TSM-ResNet50 features (2048-d; Table 5, Fig. 4b), one npy per
# video [L, 2048], e.g. extracted with tools/data/extract_features.py from MMAction2's
# Kinetics-400 TSM-R50; rescaled to 128 snippets. Layout: docs/data_preparation.md.
_base_ = ['./activitynet-tsp_feature.py']

tsm = dict(data_prefix=dict(feature='features/tsm'), feature_dim=2048)
train_dataloader = dict(dataset=tsm)
val_dataloader = dict(dataset=tsm)
test_dataloader = dict(dataset=tsm)
