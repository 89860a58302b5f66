# Figure 4b, row "DPS 100%": the sweep benchmark with 100% random proposal sampling.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(proposal_sampler=dict(type='RandomProposalSampler', ratio=1.0)))
ablation = dict(row='100%', order=7,
                paper=dict(avg_mAP=36.13, memory_gb=16, train_time='45 min'))
