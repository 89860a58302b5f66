# Preset decision table, row "centre/width scale": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(stage_head=dict(center_width_scale=0.5, max_log_width=None,
                                           min_length=None)))
ablation = dict(row='centre/width scale', order=6)
