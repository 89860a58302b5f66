# THUMOS-14 with the TSN features of BSN/G-TAD (Table 3): 2048-d = 1024 RGB + 1024
# optical flow (BN-Inception), one npy per video [L, 2048] (the released RGB and flow
# arrays concatenated, docs/data_preparation.md), one feature every 5 frames at 30 fps;
# sliding windows of 128 snippets as the I3D setting (App. B.1).
# snippet_stride=5, not App. B.1's "per 4 frames": that is the I3D features' stride;
# the released TSN arrays of BSN/G-TAD hold one feature per 5 frames (BSN's snippet
# interval), and the stride must be the arrays' own or every ground-truth position is
# off by 25% (feature i is read as frame i * snippet_stride). Resampling to 4 frames
# would interpolate features the paper does not describe.
_base_ = ['./thumos-i3d_feature.py']

tsn = dict(data_prefix=dict(feature='features/tsn'), feature_dim=2048, snippet_stride=5)
train_dataloader = dict(dataset=tsn)
val_dataloader = dict(dataset=tsn)
test_dataloader = dict(dataset=tsn)
