"""TSP R(2+1)D-34 (torchvision VideoResNet layout) -> SnippetEncoder(ResNet2Plus1dTV)."""
import copy
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torchvision.models.video import resnet as video_resnet   # test-only dependency

import etad_mmaction  # noqa: F401
from etad_mmaction.testing import load_tool
from etad_mmaction.models.encoders import SnippetEncoder
from etad_mmaction.models.converters.tsp_r2plus1d import (TSP_R2PLUS1D_34, convert_tsp_r2plus1d,
                                                         tsp_r2plus1d_conversion)
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CLI = osp.join(ROOT, 'tools', 'model_converters', 'convert_tsp_r2plus1d.py')


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tsp_r2plus1d_34() -> nn.Module:
    """The TSP backbone: torchvision VideoResNet R(2+1)D-34 with the IG65M (Caffe2)
    mid planes of each stage's first conv2 and BN eps 1e-3; random weights and
    random BN statistics / affine parameters."""
    vr = video_resnet
    model = vr.VideoResNet(block=vr.BasicBlock, conv_makers=[vr.Conv2Plus1D] * 4,
                           layers=[3, 4, 6, 3], stem=vr.R2Plus1dStem, num_classes=7)
    for name, planes, mid in (('layer2', 128, 288), ('layer3', 256, 576), ('layer4', 512, 1152)):
        getattr(model, name)[0].conv2[0] = vr.Conv2Plus1D(planes, planes, mid)
    gen = torch.Generator().manual_seed(0)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm3d):
            mod.eps = 1e-3
            c = mod.num_features
            mod.weight.data = torch.rand(c, generator=gen) + 0.5
            mod.bias.data = torch.randn(c, generator=gen) * 0.1
            mod.running_mean = torch.randn(c, generator=gen) * 0.1
            mod.running_var = torch.rand(c, generator=gen) + 0.5
            mod.num_batches_tracked.fill_(int(torch.randint(1, 100, (1,), generator=gen)))
        elif isinstance(mod, nn.Conv3d):
            nn.init.kaiming_normal_(mod.weight, mode='fan_in', nonlinearity='relu', generator=gen)
    return model.eval()


def tv_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision features before ``fc`` (global average pooled)."""
    x = model.stem(x)
    for i in range(1, 5):
        x = getattr(model, f'layer{i}')(x)
    return model.avgpool(x).flatten(1)


def encoder_cfg(**kw):
    """The ETAD ActivityNet R(2+1)D-34 (TSP) encoder."""
    return dict(type='SnippetEncoder', backbone=dict(TSP_R2PLUS1D_34), frozen_stages=2,
                freeze_bn=True, **kw)


@pytest.fixture(scope='module')
def tsp():
    model = tsp_r2plus1d_34()
    sd = model.state_dict()
    feats = OrderedDict(('features.' + k, v) for k, v in sd.items() if not k.startswith('fc.'))
    heads = {'fc1.weight': torch.randn(200, 512), 'fc1.bias': torch.zeros(200),
             'fc2.weight': torch.randn(2, 1024), 'fc2.bias': torch.zeros(2)}
    ckpt = dict(model=OrderedDict(**feats, **heads), epoch=5)   # as TSP's train.py saves it
    return model, ckpt


@pytest.fixture(scope='module')
def cli():
    return load_tool('model_converters/convert_tsp_r2plus1d.py')


@pytest.mark.slow
def test_converted_tsp_checkpoint_gives_torchvision_features(tsp, cli, tmp_path):
    model, ckpt = tsp
    src, dst = tmp_path / 'tsp.pth', tmp_path / 'out' / 'tsp_mmaction.pth'
    torch.save(ckpt, src)
    assert cli.main([str(src), str(dst)]) == 0
    assert sorted(p.name for p in dst.parent.iterdir()) == ['tsp_mmaction.pth']  # no temp left
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}
    assert saved['meta']['ignored_keys'] == ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    assert all(k.startswith('backbone.') for k in saved['state_dict'])

    enc = MODELS.build(encoder_cfg(pretrained=str(dst)))
    enc.init_weights()                                   # strict load
    for k, v in enc.backbone.state_dict().items():
        torch.testing.assert_close(v, saved['state_dict']['backbone.' + k], rtol=0, atol=0)
    enc.train()      # frozen BN: train mode computes the same function
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        ref, out = tv_features(copy.deepcopy(model).double(), x), enc.double()(x)
    assert out.shape == ref.shape == (2, 512) and ref.abs().max() > 1e-3
    torch.testing.assert_close(out, ref, rtol=1e-9, atol=1e-12)


def test_prefixes_and_bare_torchvision_state_dict(tsp):
    model, ckpt = tsp
    ref = convert_tsp_r2plus1d(ckpt)
    bare = model.state_dict()                           # stem.0.weight ..., fc.weight
    for variant in (bare, {'module.backbone.' + k: v for k, v in bare.items()},
                    {'state_dict': {'module.' + k: v for k, v in ckpt['model'].items()}}):
        out = convert_tsp_r2plus1d(variant)
        assert list(out) == list(ref)
        assert all(out[k] is ref[k] or torch.equal(out[k], ref[k]) for k in ref)
    assert list(convert_tsp_r2plus1d(bare, prefix=''))[0] == 'conv1.conv.conv_s.weight'


def test_tv_backbone_layout_and_freezing():
    enc = MODELS.build(encoder_cfg())
    assert isinstance(enc, SnippetEncoder) and enc.input_format == '3d'
    bb = enc.backbone
    assert bb.conv1.conv.conv_s.out_channels == 45 and isinstance(bb.maxpool, nn.Identity)
    assert isinstance(bb.layer2[0].downsample.conv, nn.Conv3d)
    assert bb.layer2[0].conv2.conv.conv_s.out_channels == 288
    assert all(m.eps == 1e-3 for m in bb.modules() if isinstance(m, _BatchNorm))
    enc.train()
    frozen = [bb.conv1, bb.layer1, bb.layer2]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert any(p.requires_grad for p in bb.layer3.parameters())
    assert all(not m.training for m in bb.modules() if isinstance(m, _BatchNorm))


def test_bad_keys_and_shapes_give_clear_errors(tsp, cli, tmp_path):
    _, ckpt = tsp
    state = dict(ckpt['model'])
    with pytest.raises(KeyError, match=r'features\.layer1\.0\.conv3\.weight'):
        convert_tsp_r2plus1d({**state, 'features.layer1.0.conv3.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match=r'missing .*layer4\.2\.conv2\.bn\.running_var'):
        convert_tsp_r2plus1d({k: v for k, v in state.items()
                              if k != 'features.layer4.2.conv2.1.running_var'})
    # torchvision's stock mid planes (230) instead of TSP's 288
    stock = {**state, 'features.layer2.0.conv2.0.0.weight': torch.zeros(230, 128, 1, 3, 3)}
    with pytest.raises(ValueError, match=r'features\.layer2\.0\.conv2\.0\.0\.weight -> '
                                         r'backbone\.layer2\.0\.conv2\.conv\.conv_s\.weight'):
        convert_tsp_r2plus1d(stock)
    with pytest.raises(KeyError, match='no .stem.0.weight.'):
        convert_tsp_r2plus1d({'conv1.weight': torch.zeros(1)})
    # the CLI reports the key and writes nothing
    src, dst = tmp_path / 'bad.pth', tmp_path / 'bad_out.pth'
    torch.save({'model': {**state, 'features.extra.weight': torch.zeros(1)}}, src)
    with pytest.raises(SystemExit, match=r'features\.extra\.weight'):
        cli.main([str(src), str(dst)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad.pth']


def test_conversion_reports_ignored_heads(tsp):
    _, ckpt = tsp
    _, ignored = tsp_r2plus1d_conversion(ckpt)
    assert ignored == ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']


def test_e2e_config_uses_the_tsp_layout():
    """The R(2+1)D end-to-end config spells out the backbone the converter fills."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'etad_e2e',
                                   'etad-e2e_r2plus1d-34-112-16f_4xb4-6e_anet.py'))
    assert cfg.model.encoder.backbone.to_dict() == TSP_R2PLUS1D_34
