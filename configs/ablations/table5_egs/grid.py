# Table 5 (EGS column), row "grid" (single_pass EGS): the synthetic-video end-to-end benchmark
# with 30% grid snippet sampling for the encoder gradients.
_base_ = ['../../etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']

model = dict(egs=dict(ratio=0.3, mode='single_pass', sampler=dict(type='GridSnippetSampler')))
ablation = dict(row='grid (single_pass)', order=3,
                paper=dict(avg_mAP=36.77))
