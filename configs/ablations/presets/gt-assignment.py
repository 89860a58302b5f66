# Preset decision table, row "target assignment": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(train_cfg=dict(gt_assignment='initial')))
ablation = dict(row='target assignment', order=7)
