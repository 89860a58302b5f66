# Figure 4b, row "DPS 10%": the sweep benchmark with 10% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.1)))
ablation = dict(row='10%', order=4)
