# Table 7 (App. C.1), row "Transformer": the sweep benchmark with one cascade stage and a
# vanilla Transformer feature enhancement module (depth/heads: docs/method.md).
_base_ = ['../table8/stages-1.py']

model = dict(neck=dict(_delete_=True, type='TransformerFeatureEnhancement', in_channels=400,
                       hidden_channels=256, out_channels=256))
ablation = dict(_delete_=True, row='Transformer', order=2,
                paper=dict(avg_mAP=34.82, memory_gb=0.68, train_time='3min 05s'))
