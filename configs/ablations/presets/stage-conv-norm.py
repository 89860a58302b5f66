# Preset decision table, row "stage conv and norm": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(stage_head=dict(residual_kernel=3, residual_groups=4,
                                           reduce_kernel=3, num_groups=None)))
ablation = dict(row='stage conv and norm', order=3)
