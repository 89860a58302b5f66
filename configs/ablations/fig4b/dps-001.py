# Figure 4b, row "DPS 1%": the sweep benchmark with 1% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.01)))
ablation = dict(row='1%', order=1)
