# Figure 4a, row "EGS 100%": the synthetic-video end-to-end benchmark with 100% of the
# snippets carrying encoder gradients (random snippet sampling).
_base_ = ['../../etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']

model = dict(egs=dict(ratio=1.0, sampler=None))
ablation = dict(row='100%', order=5,
                paper=dict(avg_mAP=36.85))
