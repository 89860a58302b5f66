# Table 9 (App. C.3), row "DPS 100% at inference": the checkpoints of Table 8's 3-stage
# row evaluated with grid proposal sampling at test time (training unchanged).
_base_ = ['../table8/stages-3.py']

model = dict(roi_head=dict(test_proposal_sampler=None))
ablation = dict(_delete_=True, row='100%', order=1, checkpoint_of='table8/stages-3',
                paper=dict(avg_mAP=36.06, inference_ms=21.3))
