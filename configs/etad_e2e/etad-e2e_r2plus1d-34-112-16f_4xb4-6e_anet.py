# End-to-end ETAD on ActivityNet-1.3 with R(2+1)D-34 (App. B.1/B.2, Table 4): TSP
# pretraining on ActivityNet (Alwassel et al., 2021), 112x112, 16 frames per snippet,
# 128 snippets, EGS 30%; encoder lr 1e-7.
# Checkpoint: download TSP's `r2plus1d_34-tsp_on_activitynet` (torchvision layout) and
# convert it once:
#   python tools/model_converters/convert_tsp_r2plus1d.py \
#       r2plus1d_34-tsp_on_activitynet-max_gvf-backbone_lr_0.0001-fc_lr_0.002-epoch_5-0d2cf854.pth \
#       checkpoints/r2plus1d_34-tsp_on_activitynet_mmaction.pth
_base_ = ['./etad-e2e_tsm-r50-224-8f_4xb4-6e_anet.py']

clip_len = 16
model = dict(
    # TSP normalisation (ImageNet-Kinetics statistics on [0, 255])
    data_preprocessor=dict(mean=[110.201, 100.64, 95.997], std=[58.149, 56.469, 55.332]),
    encoder=dict(
        _delete_=True, type='SnippetEncoder', frozen_stages=2, freeze_bn=True,
        backbone=dict(
            type='ResNet2Plus1dTV', depth=34, pretrained=None, pretrained2d=False,
            conv_cfg=dict(type='Conv2plus1d'),
            norm_cfg=dict(type='BN3d', requires_grad=True, eps=1e-3),
            act_cfg=dict(type='ReLU', inplace=True), conv1_kernel=(3, 7, 7),
            conv1_stride_t=1, pool1_stride_t=1, with_pool1=False, inflate=(1, 1, 1, 1),
            spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2),
            zero_init_residual=False, stem_mid_channels=45, tv_shortcut=True),
        pretrained='checkpoints/r2plus1d_34-tsp_on_activitynet_mmaction.pth'),
    feature_channels=512)

train_pipeline = [
    dict(type='TADDecordInit'),
    dict(type='SampleSnippets', clip_len=clip_len, frame_interval=1),
    dict(type='TADDecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='RandomCrop', size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackTADInputs')]
val_pipeline = [
    dict(type='TADDecordInit'),
    dict(type='SampleSnippets', clip_len=clip_len, frame_interval=1),
    dict(type='TADDecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackTADInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

# App. B.2: encoder lr 1e-7 for R(2+1)D (detector 1e-3)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'encoder': dict(lr_mult=1e-4)}))
