# Table 8 (App. C.2), row "3 cascade stage(s)": the sweep benchmark with 3 proposal
# evaluation stage(s); IoU thresholds 0.7/0.8/0.9 of the first 3 stages.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(num_stages=3,
                           train_cfg=dict(stage_pos_iou_thrs=(0.7, 0.8, 0.9))))
ablation = dict(row='3', order=3,
                paper=dict(avg_mAP=36.06, memory_gb=1.23, train_time='5min 58s'))
