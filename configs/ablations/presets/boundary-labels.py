# Preset decision table, row "boundary labels": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(train_cfg=dict(boundary_labels='snippet')))
ablation = dict(row='boundary labels', order=8)
