# End-to-end ETAD on ActivityNet-1.3 raw videos (Section 3.2.1, App. B.1/B.2, Table 4):
# TSM-ResNet50 (Kinetics-400, MMAction2 checkpoint) at 224x224, 128 snippets of 8 frames,
# Encoder Gradient Sampling 30% (random), first two stages and every BatchNorm frozen.
# The detector is the feature-based config's, unchanged (2048-d input).
# Paper batch: 16 videos = 4 GPUs x 4 (`bash tools/dist_train.sh THIS_CONFIG 4`).
# Memory per video (H200, fp32, docs/benchmarks.md): single pass 9.9 GB at ratio 0.3
# (30.5 GB at ratio 1); `model.egs.mode='injection'` needs 2.1 GB at any ratio for
# about 2x the step time (see etad-e2e-injection_tsm-r50-224-8f_4xb4-6e_anet.py).
_base_ = ['../etad/etad_1xb16-6e_anet-tsp-feature.py']

num_snippets = 128
clip_len = 8
encoder_checkpoint = (  # MMAction2 model zoo: TSM-R50 1x1x8, Kinetics-400
    'https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/'
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb/'
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb_20220831-64d69186.pth')

model = dict(
    _delete_=True,
    type='ETADEndToEnd',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'),
    encoder=dict(
        type='SnippetEncoder', frozen_stages=2, freeze_bn=True,
        backbone=dict(type='ResNetTSM', depth=50, num_segments=clip_len, shift_div=8,
                      pretrained=None),
        init_cfg=dict(type='Pretrained', checkpoint=encoder_checkpoint, prefix='backbone.')),
    detector={{_base_.model}},
    feature_channels=2048,
    egs=dict(ratio=0.3, mode='single_pass', sampler=dict(type='RandomSampler')))

data_root = 'data/activitynet'
video_common = dict(type='ActivityNetVideoDataset', data_root=data_root,
                    ann_file='annotations/activity_net.v1-3.min.json',
                    data_prefix=dict(video='videos'), suffix='.mp4',
                    num_snippets=num_snippets)
# Random cropping is the only augmentation (App. B.1, Table 12). Pre-resize the videos
# to short side 256 (docs/data_preparation.md): frames are decoded at full size.
train_pipeline = [
    dict(type='TADDecordInit'),
    dict(type='SampleSnippets', clip_len=clip_len, frame_interval=None),
    dict(type='TADDecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomCrop', size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackTADInputs')]
val_pipeline = [
    dict(type='TADDecordInit'),
    dict(type='SampleSnippets', clip_len=clip_len, frame_interval=None),
    dict(type='TADDecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackTADInputs')]

train_dataloader = dict(
    batch_size=4, num_workers=8,
    dataset=dict(_delete_=True, **video_common, subset='training', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=8,
    dataset=dict(_delete_=True, **video_common, subset='validation', test_mode=True,
                 classifier_file='annotations/cuhk_val_simp_7.json',
                 exclude_videos='annotations/blocked.json', pipeline=val_pipeline))
test_dataloader = val_dataloader

# App. B.2: detector lr 1e-3, encoder lr 1e-6 (TSM); frozen parameters are left out
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'encoder': dict(lr_mult=1e-3)}))
# runs ETADEndToEnd.train_step under DDP (stock MMDistributedDataParallel would bypass it)
model_wrapper_cfg = dict(type='mmaction.ETADDistributedDataParallel')
auto_scale_lr = dict(enable=False, base_batch_size=16)
