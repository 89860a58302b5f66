# Preset decision table, row "negatives": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(train_cfg=dict(negatives='batch_ratio')))
ablation = dict(row='negatives', order=9)
