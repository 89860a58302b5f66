# Table 5 (EGS column), row "random" (single_pass EGS): the synthetic-video end-to-end benchmark
# with 30% random snippet sampling for the encoder gradients.
_base_ = ['../../etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']

model = dict(egs=dict(ratio=0.3, mode='single_pass', sampler=dict(type='RandomSnippetSampler')))
ablation = dict(same_as='fig4a/egs-030', row='random (single_pass)', order=1,
                paper=dict(avg_mAP=36.65))
