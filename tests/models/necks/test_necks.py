"""Feature enhancement necks of Table 7 (App. A.1, C.1): LSTM (both directions or
one), Conv-only and Transformer. Shapes, gradients, overfitting, the temporal
receptive field each claims (GroupNorm, which mixes all time steps, replaced by
identity for that test), errors and the detector built with each."""
import pytest
import torch
from torch import nn

import etad_mmaction  # noqa: F401
from etad_mmaction.models.necks.transformer_enhancement import sine_positions
from etad_mmaction.testing import C, T, make_samples, small_model
from mmaction.registry import MODELS

SMALL = dict(in_channels=C, hidden_channels=32, out_channels=16, num_groups=4)
NECKS = {
    'lstm': dict(type='LSTMFeatureEnhancement', branch_channels=8, **SMALL),
    'lstm-forward': dict(type='LSTMFeatureEnhancement', branch_channels=8,
                         direction='forward', **SMALL),
    'lstm-backward': dict(type='LSTMFeatureEnhancement', branch_channels=8,
                          direction='backward', **SMALL),
    'conv': dict(type='ConvFeatureEnhancement', **SMALL),
    'transformer': dict(type='TransformerFeatureEnhancement', num_heads=4, ffn_channels=64,
                        dropout=0.0, **SMALL),
}


def build(name, **kw):
    torch.manual_seed(0)
    return MODELS.build(dict(NECKS[name], **kw))


@pytest.mark.parametrize('name', NECKS)
@pytest.mark.parametrize('t', [1, 7, T])
def test_shapes(name, t):
    neck = build(name)
    out = neck(torch.randn(3, C, t))
    assert out.shape == (3, 16, t) and neck.out_channels == 16 and neck.in_channels == C
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('name', NECKS)
def test_gradients_reach_every_parameter_and_the_input(name):
    neck = build(name)
    x = torch.randn(2, C, T, requires_grad=True)
    (neck(x) * torch.randn(2, 16, T)).sum().backward()
    missing = [n for n, p in neck.named_parameters()
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize('name', NECKS)
def test_overfits_a_tiny_target(name):
    neck = build(name)
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(2, C, T, generator=g), torch.randn(16, C, generator=g)
    target = torch.relu(torch.einsum('oc,bct->bot', w, x))   # reachable by every neck
    opt = torch.optim.Adam(neck.parameters(), lr=1e-2)
    losses = []
    for _ in range(150):
        loss = nn.functional.mse_loss(neck(x), target)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])


def without_group_norm(module):
    for name, child in module.named_children():
        if isinstance(child, nn.GroupNorm):
            setattr(module, name, nn.Identity())
        else:
            without_group_norm(child)
    return module.eval()


def changed_steps(neck, t0, t=T):
    """Output time steps that change when the input at ``t0`` changes."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, C, t, generator=g)
    y = x.clone()
    y[:, :, t0] += 3 * torch.randn(C, generator=g)
    with torch.no_grad():
        diff = (neck(x) - neck(y)).abs().amax(dim=1)[0]
    return set(torch.nonzero(diff > 1e-6).flatten().tolist())


@pytest.mark.parametrize('name,expected', [
    # the local convs reach 2 steps each way (input conv k3 + branch conv k3)
    ('lstm', set(range(T))),
    ('lstm-forward', set(range(5 - 2, T))),      # later snippets only: App. A.1 discussion
    ('lstm-backward', set(range(0, 5 + 3))),     # earlier snippets only
    ('conv', set(range(5 - 3, 5 + 4))),          # k3 input conv + 2 k3 layers: radius 3
    ('transformer', set(range(T))),
])
def test_temporal_receptive_field(name, expected):
    neck = without_group_norm(build(name))
    assert changed_steps(neck, 5) == expected


def test_conv_receptive_field_follows_layers_and_kernel():
    neck = without_group_norm(build('conv', num_layers=1, kernel_size=5))
    assert changed_steps(neck, 8) == set(range(8 - 3, 8 + 4))   # 1 + 2


def test_lstm_both_keeps_its_parameters_one_direction_drops_a_branch():
    both = dict(build('lstm').named_parameters())
    assert {k.split('.')[0] for k in both} == {
        'input_conv', 'lstm_fwd', 'lstm_bwd', 'conv_fwd', 'conv_bwd', 'conv_res', 'fuse'}
    fwd = dict(build('lstm-forward').named_parameters())
    assert {k.split('.')[0] for k in fwd} == {'input_conv', 'lstm_fwd', 'conv_fwd',
                                                'conv_res', 'fuse'}
    assert fwd['fuse.0.weight'].shape == (16, 8 + 32, 1)
    # the same seed initialises the kept modules as in the two-branch module
    assert torch.equal(fwd['lstm_fwd.weight_ih_l0'], both['lstm_fwd.weight_ih_l0'])
    bwd = build('lstm-backward', concat_order=('backward', 'residual', 'forward'))
    assert bwd.concat_order == ('backward', 'residual')


def test_lstm_backward_is_forward_on_the_reversed_sequence():
    """A backward-only module is a forward-only one on time-reversed input when
    its LSTM and branch conv take the forward module's weights (the branch conv
    flipped in time, the convs of the shared path symmetric)."""
    fwd, bwd = build('lstm-forward'), build('lstm-backward')
    with torch.no_grad():
        for conv in ('input_conv', 'conv_res'):
            w = getattr(fwd, conv)[0].weight
            w.copy_((w + w.flip(-1)) / 2)
        state = {k.replace('_fwd', '_bwd'): v for k, v in fwd.state_dict().items()}
        bwd.load_state_dict(state)
        bwd.conv_bwd[0].weight.copy_(fwd.conv_fwd[0].weight.flip(-1))
        x = torch.randn(2, C, T)
        assert torch.allclose(bwd(x), fwd(x.flip(-1)).flip(-1), atol=1e-5)


def test_sine_positions():
    pos = sine_positions(6, 8)
    assert torch.equal(pos[0], torch.tensor([0., 1.] * 4))
    assert torch.allclose(pos[3, 0::2], torch.sin(3 / 10000 ** (torch.arange(4) * 2 / 8)))
    assert torch.allclose(pos[3, 1::2], torch.cos(3 / 10000 ** (torch.arange(4) * 2 / 8)))


def test_transformer_without_positions_is_order_blind_after_its_input_conv():
    """With ``pos_encoding='none'`` (and a k1 input conv) permuting the snippets
    permutes the output: the positions are what carries the order."""
    neck = without_group_norm(build('transformer', pos_encoding='none'))
    neck.input_conv[0] = nn.Conv1d(C, 32, 1)
    x, perm = torch.randn(1, C, T), torch.randperm(T)
    with torch.no_grad():
        assert torch.allclose(neck(x)[..., perm], neck(x[..., perm]), atol=1e-5)
        neck.pos_encoding = 'sine'
        assert not torch.allclose(neck(x)[..., perm], neck(x[..., perm]), atol=1e-3)


def test_transformer_dropout_only_in_training():
    neck = build('transformer', dropout=0.5)
    x = torch.randn(1, C, T)
    assert not torch.equal(neck.train()(x), neck(x))
    assert torch.equal(neck.eval()(x), neck(x))


@pytest.mark.parametrize('cfg,match', [
    (dict(NECKS['lstm'], direction='left'), 'neck.direction'),
    (dict(NECKS['conv'], kernel_size=2), 'neck.kernel_size'),
    (dict(NECKS['conv'], num_layers=-1), 'neck.num_layers'),
    (dict(NECKS['transformer'], pos_encoding='learned'), 'neck.pos_encoding'),
    (dict(NECKS['transformer'], num_heads=5), 'neck.num_heads'),
    (dict(NECKS['transformer'], num_layers=0), 'neck.num_layers'),
    (dict(NECKS['conv'], conv_groups=3), 'neck.conv_groups'),
])
def test_bad_config_names_the_key(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


@pytest.mark.parametrize('name', ['conv', 'transformer', 'lstm-forward'])
def test_input_width_error_names_the_module(name):
    cls = NECKS[name]['type']
    with pytest.raises(ValueError, match=rf'{cls} expects \[B, {C}, T\].*neck.in_channels'):
        build(name)(torch.randn(1, C + 1, T))


@pytest.mark.parametrize('name', ['conv', 'transformer', 'lstm-backward'])
def test_detector_trains_with_each_neck(name):
    torch.manual_seed(0)
    model = small_model(neck=dict(NECKS[name], out_channels=32))
    losses = model(torch.randn(2, C, T), make_samples(), mode='loss')
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.neck.parameters())
