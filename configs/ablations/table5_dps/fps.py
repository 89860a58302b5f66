# Table 5 (DPS column), row "fps": the sweep benchmark with 6% fps proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='FPSProposalSampler', ratio=0.06)))
ablation = dict(row='fps', order=4,
                paper=dict(avg_mAP=33.59))
