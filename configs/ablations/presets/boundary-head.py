# Preset decision table, row "boundary head": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(boundary_head=dict(conv_groups=4, num_groups=None))
ablation = dict(row='boundary head', order=2)
