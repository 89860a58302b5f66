# The embedded end-to-end default: ETADEndToEnd with Encoder Gradient Sampling 30% on
# synthetic raw videos generated on first use (no download), sized for a few minutes on
# 2 CPU cores. On first use the dataset (etad_mmaction/datasets/synthetic/videos.py)
# writes 48 training and 16 validation videos (64x64, 8 fps, 6-12 s, 4 classes) under
# data_root and pretrains a stock TSM-ResNet18 recognizer (2 frames) on clips of another
# domain (another stripe scale, trimmed), whose backbone becomes the encoder: the
# Kinetics -> ActivityNet setting in small. 16 snippets of 2 frames per video, 56x56.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/synthetic_video'
num_snippets = 16
clip_len = 2
synthetic = dict(kind='video', num_train=48, num_val=16, num_source=240, pretrain_steps=120,
                 seed=0)
encoder_checkpoint = data_root + '/encoder_pretrained.pth'  # written with the videos

model = dict(
    type='ETADEndToEnd',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[110.0] * 3, std=[50.0] * 3,
                           format_shape='NCTHW'),
    encoder=dict(type='SnippetEncoder', frozen_stages=2, freeze_bn=True,
                 backbone=dict(type='ResNetTSM', depth=18, num_segments=clip_len,
                               pretrained=None),
                 init_cfg=dict(type='Pretrained', checkpoint=encoder_checkpoint,
                               prefix='backbone.')),
    detector=dict(
        type='ETAD', num_snippets=num_snippets, max_duration=num_snippets,
        neck=dict(type='LSTMFeatureEnhancement', in_channels=512, hidden_channels=128,
                  branch_channels=64, out_channels=128),
        boundary_head=dict(type='BoundaryHead', in_channels=128),
        roi_head=dict(type='ETADRoIHead',
                      stage_head=dict(in_channels=128, roi_channels=64,
                                      hidden_dims=(256, 64, 64, 64)),
                      proposal_sampler=dict(type='RandomProposalSampler', ratio=0.3))),
    egs=dict(ratio=0.3, mode='single_pass', sampler=dict(type='RandomSampler')))


def _pipeline(crop):
    return [dict(type='TADDecordInit'),
            dict(type='SampleSnippets', clip_len=clip_len, frame_interval=None),
            dict(type='TADDecordDecode'),
            dict(type='Resize', scale=(-1, 64)),  # other footage too (tools/demo.py)
            crop,
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackTADInputs')]


video = dict(type='ActivityNetVideoDataset', data_root=data_root, ann_file='gt.json',
             data_prefix=dict(video='videos'), num_snippets=num_snippets,
             synthetic=synthetic)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(**video, subset='training',
                 pipeline=_pipeline(dict(type='RandomCrop', size=56))))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**video, subset='validation', test_mode=True,
                 pipeline=_pipeline(dict(type='CenterCrop', crop_size=56))))
test_dataloader = val_dataloader
val_evaluator = dict(type='TADMetric', metric_type='detection', protocol='anet')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8, val_begin=1, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# detector lr 1e-3, encoder lr 1e-4 (frozen parameters are left out)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     paramwise_cfg=dict(custom_keys={'encoder': dict(lr_mult=0.1)}))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[6],
                        gamma=0.1)]
auto_scale_lr = dict(enable=False, base_batch_size=4)
model_wrapper_cfg = dict(type='mmaction.ETADDistributedDataParallel')
default_hooks = dict(logger=dict(interval=4))
