# Preset decision table, row "loss weights": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(loss=dict(loss_weights=dict(proposal_boundary=0.5, iou_reg=5.0)))
ablation = dict(row='loss weights', order=10)
