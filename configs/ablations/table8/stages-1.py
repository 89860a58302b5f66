# Table 8 (App. C.2), row "1 cascade stage(s)": the sweep benchmark with 1 proposal
# evaluation stage(s); IoU thresholds 0.7/0.8/0.9 of the first 1 stages.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(num_stages=1,
                           train_cfg=dict(stage_pos_iou_thrs=(0.7, ))))
ablation = dict(row='1', order=1,
                paper=dict(avg_mAP=35.25, memory_gb=0.53, train_time='3min 23s'))
