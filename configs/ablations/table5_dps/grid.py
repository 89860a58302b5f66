# Table 5 (DPS column), row "grid": the sweep benchmark with 6% grid proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='GridProposalSampler', ratio=0.06)))
ablation = dict(row='grid', order=2,
                paper=dict(avg_mAP=36.04))
