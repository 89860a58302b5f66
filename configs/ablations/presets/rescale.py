# Preset decision table, row "feature rescale": the paper-text preset at 12 epochs
# with this one difference of the released code (docs/method.md, paper vs released).
_base_ = ['./paper.py']

_pipeline = [dict(type='LoadTADFeature'), dict(type='ResizeTADFeature', mode='roi_align'),
             dict(type='PackTADInputs')]
train_dataloader = dict(dataset=dict(pipeline=_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_pipeline))
test_dataloader = val_dataloader
ablation = dict(row='feature rescale', order=13)
