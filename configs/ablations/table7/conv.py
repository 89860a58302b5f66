# Table 7 (App. C.1), row "Conv": the sweep benchmark with one cascade stage and the
# convolution-only feature enhancement module (no long-range context).
_base_ = ['../table8/stages-1.py']

model = dict(neck=dict(_delete_=True, type='ConvFeatureEnhancement', in_channels=400,
                       hidden_channels=256, out_channels=256))
ablation = dict(_delete_=True, row='Conv', order=1,
                paper=dict(avg_mAP=34.80, memory_gb=0.47, train_time='2min 35s'))
