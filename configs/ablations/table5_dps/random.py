# Table 5 (DPS column), row "random": the sweep benchmark with 6% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.06)))
ablation = dict(same_as='table8/stages-3', row='random', order=1,
                paper=dict(avg_mAP=36.13))
