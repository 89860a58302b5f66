# Preset decision table, row "xavier init": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(init_cfg=dict(type='Xavier', layer=['Conv1d', 'Linear'], distribution='uniform',
                             bias=0),
             roi_head=dict(stage_head=dict(mlp_init='xavier_uniform')))
ablation = dict(row='xavier init', order=5)
