# Figure 4b, row "DPS 6%": the sweep benchmark with 6% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=0.06)))
ablation = dict(same_as='table8/stages-3', row='6%', order=3,
                paper=dict(avg_mAP=36.13, memory_gb=1.2, train_time='6 min'))
