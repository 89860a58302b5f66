# Preset decision table, row "RoI convention": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

model = dict(roi_head=dict(roi_extractor=dict(convention='roi_align', extended_bins=24,
                                               boundary_bins=6, boundary_from_extended=True)))
ablation = dict(row='RoI convention', order=11)
