# Preset decision table, row "neck convs": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(neck=dict(conv_groups=4, bias=False,
                      concat_order=('forward', 'residual', 'backward')))
ablation = dict(row='neck convs', order=1)
