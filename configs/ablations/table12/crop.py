# Table 12 (App. F), row "crop": the synthetic-video end-to-end benchmark at EGS 100%,
# crop 28 (the paper's 112), frozen stages 2; random crop at training, no jitter.
_base_ = ['../table13/res28-frozen2.py']


def _pipeline(crop, jitter):
    return [dict(type='TADDecordInit'),
            dict(type='SampleSnippets', clip_len=2, frame_interval=None, jitter=jitter),
            dict(type='TADDecordDecode'),
            dict(type='Resize', scale=(-1, 32)),
            crop,
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackTADInputs')]


train_dataloader = dict(dataset=dict(pipeline=_pipeline(
    dict(type='RandomCrop', size=28), None)))
ablation = dict(_delete_=True, same_as='table13/res28-frozen2', row='crop', order=3,
                paper=dict(avg_mAP=35.53))
