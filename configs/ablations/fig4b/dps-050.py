# Figure 4b, row "DPS 50%": the sweep benchmark with 50% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.5)))
ablation = dict(row='50%', order=6)
