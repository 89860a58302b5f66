# Figure 4a, row "EGS 50%": the synthetic-video end-to-end benchmark with 50% of the
# snippets carrying encoder gradients (random snippet sampling).
_base_ = ['../../etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py']

model = dict(egs=dict(ratio=0.5))
ablation = dict(row='50%', order=4)
