# Preset decision table, row "shared first FC layer": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(stage_head=dict(shared_extended_layer=True)))
ablation = dict(row='shared first FC layer', order=4)
