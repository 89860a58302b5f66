# Table 13 (App. F), row "224x224, frozen stages 3": the synthetic-video end-to-end
# benchmark at EGS 100% (as App. F), crop 56 (the paper's 224 maps to our 56: the
# synthetic videos are 64 px), encoder stages 1..3 frozen.
_base_ = ['../../etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']

model = dict(encoder=dict(frozen_stages=3), egs=dict(ratio=1.0, sampler=None))
ablation = dict(row='224px, frozen 3', order=7,
                paper=dict(avg_mAP=36.47, memory_gb=17.6))
