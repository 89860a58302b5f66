# THUMOS-14 with the TSN features of BSN/G-TAD (Table 3): 2048-d = 1024 RGB + 1024
# optical flow (BN-Inception), one npy per video [L, 2048] (the released RGB and flow
# arrays concatenated, docs/data_preparation.md), one feature every 5 frames at 30 fps;
# sliding windows of 128 snippets as the I3D setting (App. B.1).
_base_ = ['./thumos-i3d_feature.py']

tsn = dict(data_prefix=dict(feature='features/tsn'), feature_dim=2048, snippet_stride=5)
train_dataloader = dict(dataset=tsn)
val_dataloader = dict(dataset=tsn)
test_dataloader = dict(dataset=tsn)
