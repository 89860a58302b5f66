# As etad-e2e_slowonly-r50-180-8f_4xb4-6e_thumos.py with a TSM-ResNet50 encoder (App. E, Table 11):
# 8 frames per snippet as one TSM group, 180x180, EGS 30%.
_base_ = ['./etad-e2e_slowonly-r50-180-8f_4xb4-6e_thumos.py']

encoder_checkpoint = (  # MMAction2 model zoo: TSM-R50 1x1x8, Kinetics-400
    'https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/'
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb/'
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb_20220831-64d69186.pth')
model = dict(encoder=dict(
    _delete_=True, type='SnippetEncoder', frozen_stages=2, freeze_bn=True,
    backbone=dict(type='ResNetTSM', depth=50, num_segments=8, shift_div=8, pretrained=None),
    init_cfg=dict(type='Pretrained', checkpoint=encoder_checkpoint, prefix='backbone.')))
