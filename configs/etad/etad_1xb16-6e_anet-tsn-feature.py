# ETAD on ActivityNet-1.3 TSN features (RGB + flow, 400-d): the setting of Table 2's
# TSN row and of the ablations of Tables 7-9 (App. C); the paper recipe otherwise.
# Table 7 (feature enhancement: LSTM / Conv / Transformer) uses one proposal stage:
# model = dict(neck=dict(_delete_=True, type='ConvFeatureEnhancement', in_channels=400),
#              roi_head=dict(num_stages=1, train_cfg=dict(stage_pos_iou_thrs=(0.7, ))))
_base_ = [
    '../_base_/models/etad.py', '../_base_/datasets/activitynet-tsn_feature.py',
    '../_base_/schedules/adamw_6e.py', '../_base_/default_runtime.py'
]
model = dict(num_snippets=128, max_duration=128, neck=dict(in_channels=400))
