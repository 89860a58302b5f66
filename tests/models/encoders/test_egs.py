"""SnippetEncoder (backbone wrapping, freezing, checkpoint reuse) and the EGS helper."""
import pytest
import torch
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

import etad_mmaction  # noqa: F401
from etad_mmaction.models.encoders import EncoderGradientSampling, SnippetEncoder
from etad_mmaction.models.samplers.seeding import sampling_generator
from mmaction.registry import MODELS

TSM18 = dict(type='ResNetTSM', depth=18, num_segments=2, pretrained=None)
R2P1D34 = dict(type='ResNet2Plus1d', depth=34, pretrained=None, pretrained2d=False,
               conv_cfg=dict(type='Conv2plus1d'), conv1_kernel=(3, 7, 7), conv1_stride_t=1,
               pool1_stride_t=1, inflate=(1, 1, 1, 1), spatial_strides=(1, 2, 2, 2),
               temporal_strides=(1, 2, 2, 2), zero_init_residual=False)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small CPU kernels: one thread is faster and fair to other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_recognizer(cfg):
    """A stock MMAction2 recognizer (its data preprocessor needs the mmaction scope)."""
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(cfg)


def tsm_encoder(**kw):
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18), **kw))
    enc.init_weights()
    return enc


@pytest.fixture(scope='module')
def r2p1d_recognizer_ckpt(tmp_path_factory):
    """A checkpoint written by a stock MMAction2 Recognizer3D (R(2+1)D-34)."""
    rec = build_recognizer(dict(type='Recognizer3D', backbone=dict(R2P1D34),
                            cls_head=dict(type='I3DHead', num_classes=5, in_channels=512)))
    path = tmp_path_factory.mktemp('ckpt') / 'r2plus1d_rec.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=rec.state_dict()), path)
    return path, rec


def tsm_recognizer(depth=18):
    return build_recognizer(dict(
        type='Recognizer2D', backbone=dict(TSM18, depth=depth),
        cls_head=dict(type='TSMHead', num_classes=5, in_channels=512 if depth < 50 else 2048,
                      num_segments=2)))


# ---------------------------------------------------------------- encoder
def test_tsm_features_pool_each_snippet_over_its_frames():
    torch.manual_seed(0)
    enc = tsm_encoder().train()
    assert isinstance(enc, SnippetEncoder) and enc.input_format == '2d'
    x = torch.randn(3, 3, 2, 16, 16)                         # [M, C, T, H, W]
    feats = enc(x)
    assert feats.shape == (3, 512)
    frames = x.transpose(1, 2).reshape(6, 3, 16, 16)
    ref = enc.backbone(frames).view(3, 2, 512, -1).mean(dim=(1, 3))
    torch.testing.assert_close(feats, ref)
    # snippets are independent (one TSM group each, frozen BN): batching does not matter
    torch.testing.assert_close(enc(x[1:2]), feats[1:2], rtol=1e-4, atol=1e-5)
    batched = enc(torch.stack([x, x.flip(0)]))               # [B, M, ...]
    assert batched.shape == (2, 3, 512)
    torch.testing.assert_close(batched[1], feats.flip(0), rtol=1e-4, atol=1e-5)


def test_3d_backbone_features():
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(R2P1D34)))
    assert enc.input_format == '3d'
    x = torch.randn(2, 3, 4, 16, 16)
    out = enc(x)
    assert out.shape == (2, 512)
    torch.testing.assert_close(out, enc.backbone(x).flatten(2).mean(2))


@pytest.mark.parametrize('frozen', [-1, 0, 2, 4])
def test_frozen_stages_and_all_bn_frozen_after_train(frozen):
    enc = tsm_encoder(frozen_stages=frozen)
    assert enc.backbone.frozen_stages == frozen and enc.backbone.norm_eval
    enc.train()
    for name, mod in enc.named_modules():
        if isinstance(mod, _BatchNorm):
            assert not mod.training, name
            assert not any(p.requires_grad for p in mod.parameters()), name
    trainable = {n.split('.')[1] for n, p in enc.named_parameters() if p.requires_grad}
    expect = {'conv1', 'layer1', 'layer2', 'layer3', 'layer4'}
    if frozen >= 0:
        expect -= {'conv1'} | {f'layer{i}' for i in range(1, frozen + 1)}
    assert trainable == expect
    # the (train-mode) forward leaves running statistics untouched
    stats = [m.running_mean.clone() for m in enc.modules() if isinstance(m, _BatchNorm)]
    enc(torch.randn(2, 3, 2, 8, 8))
    after = [m.running_mean for m in enc.modules() if isinstance(m, _BatchNorm)]
    assert all(torch.equal(a, b) for a, b in zip(stats, after))


def test_encoder_config_errors():
    with pytest.raises(ValueError, match='frozen_stages'):
        MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18, frozen_stages=1)))
    with pytest.raises(ValueError, match='input_format'):
        MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18), input_format='4d'))
    enc = tsm_encoder()
    with pytest.raises(ValueError, match='num_segments=2'):
        enc(torch.randn(2, 3, 4, 8, 8))
    with pytest.raises(ValueError, match=r'\[M, C, T, H, W\]'):
        enc(torch.randn(2, 3, 8, 8))


# ---------------------------------------------------------------- checkpoints
@pytest.mark.parametrize('how', ['init_cfg', 'pretrained'])
def test_load_tsm_recognizer2d_checkpoint(tmp_path, how):
    torch.manual_seed(1)
    rec = tsm_recognizer()
    path = tmp_path / 'tsm_rec.pth'
    torch.save(dict(meta=dict(epoch=3), state_dict=rec.state_dict()), path)
    kw = (dict(init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
          if how == 'init_cfg' else dict(pretrained=str(path)))
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18), **kw))
    enc.init_weights()
    for key, value in rec.backbone.state_dict().items():
        assert torch.equal(enc.backbone.state_dict()[key], value), key
    # frozen parts stay frozen after loading
    assert not any(p.requires_grad for p in enc.backbone.layer2.parameters())
    assert all(p.requires_grad for n, p in enc.backbone.layer3.named_parameters()
               if '.bn.' not in n)


def test_tsm50_state_dict_roundtrip(tmp_path):
    rec = tsm_recognizer(depth=50)
    path = tmp_path / 'tsm50.pth'
    torch.save(rec.state_dict(), path)                    # bare state dict, no wrapper
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18, depth=50),
                            pretrained=str(path)))
    enc.init_weights()
    w = 'layer4.2.conv3.conv.weight'
    assert torch.equal(enc.backbone.state_dict()[w], rec.backbone.state_dict()[w])


def test_load_r2plus1d_recognizer3d_checkpoint(r2p1d_recognizer_ckpt):
    path, rec = r2p1d_recognizer_ckpt
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(R2P1D34),
                            init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                          prefix='backbone.')))
    enc.init_weights()
    for key, value in rec.backbone.state_dict().items():
        assert torch.equal(enc.backbone.state_dict()[key], value), key


def test_checkpoint_mismatch_names_file_and_keys(tmp_path):
    rec = tsm_recognizer()
    state = rec.state_dict()
    state['neck.extra.weight'] = torch.zeros(1)
    bad = tmp_path / 'extra_key.pth'
    torch.save(dict(state_dict=state), bad)
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18), pretrained=str(bad)))
    with pytest.raises(KeyError,
                       match=r"extra_key\.pth.*unexpected keys \['neck\.extra\.weight'\]"):
        enc.init_weights()
    state = rec.state_dict()
    state.pop('neck.extra.weight', None)
    state.pop('backbone.layer4.1.conv2.conv.weight')
    missing = tmp_path / 'missing_key.pth'
    torch.save(dict(state_dict=state), missing)
    enc = MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18), pretrained=str(missing)))
    with pytest.raises(KeyError,
                       match=r"missing_key\.pth.*backbone\.layer4\.1\.conv2\.conv\.weight"):
        enc.init_weights()
    with pytest.raises(ValueError, match='both'):
        MODELS.build(dict(type='SnippetEncoder', backbone=dict(TSM18), pretrained='a.pth',
                          init_cfg=dict(type='Pretrained', checkpoint='b.pth')))


# ---------------------------------------------------------------- EGS helper
def test_egs_ratio_and_mode_validation():
    for bad in (-0.1, 1.5, float('nan'), True, '0.3'):
        with pytest.raises(ValueError, match='model.egs.ratio'):
            EncoderGradientSampling(ratio=bad)
    with pytest.raises(ValueError, match='model.egs.mode'):
        EncoderGradientSampling(mode='two_pass')
    with pytest.raises(ValueError, match='model.egs.chunk_size'):
        EncoderGradientSampling(chunk_size=0)
    with pytest.raises(ValueError, match='model.egs.sampler.ratio'):
        EncoderGradientSampling(ratio=0.3, sampler=dict(type='RandomSampler', ratio=0.5))
    with pytest.raises(ValueError, match=r"model.egs.sampler.*mode='injection'"):
        EncoderGradientSampling(ratio=0.5, mode='single_pass', sampler=dict(type='FPSSampler'))
    with pytest.raises(ValueError, match='proposal-only'):
        EncoderGradientSampling(ratio=0.5, sampler=dict(type='IoUBalancedSampler'))
    with pytest.raises(KeyError, match='model.egs.sampler'):
        EncoderGradientSampling(ratio=0.5, sampler=dict(type='NoSuchSampler'))


def test_egs_select_counts_and_seeding():
    assert EncoderGradientSampling(ratio=0.0).select(8).numel() == 0
    assert EncoderGradientSampling(ratio=0.0).sampler is None
    full = EncoderGradientSampling(ratio=1.0)
    assert full.sampler is None and full.select(8).tolist() == list(range(8))
    egs = EncoderGradientSampling(ratio=0.3)
    idx = egs.select(8, generator=sampling_generator(0, 0, 5, 'egs'))
    assert idx.numel() == 2 and torch.equal(idx, idx.sort().values)
    again = egs.select(8, generator=sampling_generator(0, 0, 5, 'egs'))
    assert torch.equal(idx, again)
    assert EncoderGradientSampling(ratio=0.05).select(8).numel() == 1   # k >= 1
    for sampler in ('GridSampler', 'BlockSampler'):
        assert EncoderGradientSampling(ratio=0.5, sampler=dict(type=sampler)).select(8).numel() == 4
    fps = EncoderGradientSampling(ratio=0.5, mode='injection', sampler=dict(type='FPSSampler'))
    assert fps.needs_features
    assert fps.select(8, features=torch.randn(8, 4)).numel() == 4


def test_single_pass_restores_order_and_routes_gradients():
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Flatten(1), torch.nn.Linear(3 * 2 * 2 * 2, 4))
    x = torch.randn(7, 3, 2, 2, 2)
    idx = torch.tensor([1, 4, 5])
    egs = EncoderGradientSampling(ratio=0.5, chunk_size=2)
    feats = egs.encode_single_pass(enc, x, idx)
    torch.testing.assert_close(feats, enc(x))
    feats.sum().backward()
    g = enc[1].weight.grad.clone()
    enc.zero_grad()
    enc(x[idx]).sum().backward()
    torch.testing.assert_close(g, enc[1].weight.grad)
    # injection's re-forward adds the same gradient for a given dL/dF
    enc.zero_grad()
    egs.inject(enc, x, idx, torch.ones(7, 4))
    torch.testing.assert_close(enc[1].weight.grad, g)
