# Table 5 (DPS column), row "iou-balanced": the sweep benchmark with 6% IoU-balanced
# proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='IoUBalancedProposalSampler', ratio=0.06)))
ablation = dict(row='iou-balanced', order=6,
                paper=dict(avg_mAP=34.84))
