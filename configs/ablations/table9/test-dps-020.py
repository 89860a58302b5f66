# Table 9 (App. C.3), row "DPS 20% at inference": the checkpoints of Table 8's 3-stage
# row evaluated with grid proposal sampling at test time (training unchanged).
_base_ = ['../table8/stages-3.py']

model = dict(roi_head=dict(test_proposal_sampler=dict(type='GridProposalSampler', ratio=0.2)))
ablation = dict(_delete_=True, row='20%', order=2, checkpoint_of='table8/stages-3',
                paper=dict(avg_mAP=35.97, inference_ms=10.7))
