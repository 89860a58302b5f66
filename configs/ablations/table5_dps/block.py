# Table 5 (DPS column), row "block": the sweep benchmark with 6% block proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='BlockProposalSampler', ratio=0.06)))
ablation = dict(row='block', order=3,
                paper=dict(avg_mAP=32.97))
