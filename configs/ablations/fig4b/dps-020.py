# Figure 4b, row "DPS 20%": the sweep benchmark with 20% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.2)))
ablation = dict(row='20%', order=5)
