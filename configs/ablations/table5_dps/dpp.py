# Table 5 (DPS column), row "dpp": the sweep benchmark with 6% dpp proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='DPPProposalSampler', ratio=0.06)))
ablation = dict(row='dpp', order=5,
                paper=dict(avg_mAP=36.16))
