# End-to-end ETAD on THUMOS-14 raw videos (App. E, Table 11): SlowOnly-ResNet50
# (Kinetics-400, MMAction2 checkpoint), RGB only, 8 frames per snippet at 180x180,
# windows of 128 snippets every 4 frames (sliding, stride 64, for training; covering each
# video for testing, merged as in the feature setting), EGS 30%, random crop only.
# The detector is the feature-based THUMOS config's (2048-d input).
_base_ = ['../etad/etad_1xb16-6e_thumos-i3d-feature.py']

clip_len = 8
encoder_checkpoint = (  # MMAction2 model zoo: SlowOnly-R50 8x8x1, Kinetics-400
    'https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/'
    'slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb/'
    'slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb_20220901-2132fc87.pth')

model = dict(
    _delete_=True,
    type='ETADEndToEnd',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'),
    encoder=dict(
        type='SnippetEncoder', frozen_stages=2, freeze_bn=True,
        backbone=dict(type='ResNet3dSlowOnly', depth=50, pretrained=None, lateral=False,
                      conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                      inflate=(0, 0, 1, 1)),
        init_cfg=dict(type='Pretrained', checkpoint=encoder_checkpoint, prefix='backbone.')),
    detector={{_base_.model}},
    feature_channels=2048,
    egs=dict(ratio=0.3, mode='single_pass', sampler=dict(type='RandomSampler')))

data_root = 'data/thumos14'
video_common = dict(type='ThumosVideoDataset', data_root=data_root,
                    ann_file='annotations/thumos14.json', data_prefix=dict(video='videos'),
                    suffix='.mp4', window_size=128, window_stride=64, snippet_stride=4,
                    fps=30)
train_pipeline = [
    dict(type='TADDecordInit'),
    dict(type='SampleSnippets', clip_len=clip_len, frame_interval=1),
    dict(type='TADDecordDecode'),
    dict(type='Resize', scale=(-1, 206)),
    dict(type='RandomCrop', size=180),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackTADInputs')]
val_pipeline = [
    dict(type='TADDecordInit'),
    dict(type='SampleSnippets', clip_len=clip_len, frame_interval=1),
    dict(type='TADDecordDecode'),
    dict(type='Resize', scale=(-1, 206)),
    dict(type='CenterCrop', crop_size=180),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackTADInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=8,
    dataset=dict(_delete_=True, **video_common, subset='Validation', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=8,
    dataset=dict(_delete_=True, **video_common, subset='Test', test_mode=True,
                 classifier_file='annotations/uNet_test.npz', pipeline=val_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'encoder': dict(lr_mult=1e-3)}))
model_wrapper_cfg = dict(type='mmaction.ETADDistributedDataParallel')
auto_scale_lr = dict(enable=False, base_batch_size=16)
