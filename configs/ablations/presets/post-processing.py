# Preset decision table, row "score and post-processing": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(test_cfg=dict(score='released', boundary_lookup='refined',
                                         edge_peaks=True, selected_only=False)),
             test_cfg=dict(nms=dict(_delete_=True, type='gaussian_soft_nms', sigma=0.35,
                                    iou_threshold=0.0, top_k=100, keep_last=False,
                                    clip_to_video=False)))
ablation = dict(row='score and post-processing', order=12)
