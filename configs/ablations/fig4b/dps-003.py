# Figure 4b, row "DPS 3%": the sweep benchmark with 3% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.03)))
ablation = dict(row='3%', order=2)
