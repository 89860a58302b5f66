# Table 5 (EGS column), row "dpp" (injection EGS): the synthetic-video end-to-end benchmark
# with 30% dpp snippet sampling for the encoder gradients.
_base_ = ['../../etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']

model = dict(egs=dict(ratio=0.3, mode='injection', sampler=dict(type='DPPSnippetSampler')))
ablation = dict(row='dpp (injection)', order=10,
                paper=dict(avg_mAP=36.79))
