# Table 5 (DPS column), row "scale-balanced": the sweep benchmark with 6% scale-balanced
# proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='ScaleBalancedProposalSampler', ratio=0.06)))
ablation = dict(row='scale-balanced', order=7,
                paper=dict(avg_mAP=35.10))
