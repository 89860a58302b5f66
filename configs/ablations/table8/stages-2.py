# Table 8 (App. C.2), row "2 cascade stage(s)": the sweep benchmark with 2 proposal
# evaluation stage(s); IoU thresholds 0.7/0.8/0.9 of the first 2 stages.
_base_ = ['../../etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py']

model = dict(roi_head=dict(num_stages=2,
                           train_cfg=dict(stage_pos_iou_thrs=(0.7, 0.8))))
ablation = dict(row='2', order=2,
                paper=dict(avg_mAP=35.81, memory_gb=0.88, train_time='4min 33s'))
