"""ETADEndToEnd: both EGS modes give exactly the gradients of plain autograd (float64)."""
import copy

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

import etad_mmaction  # noqa: F401

from etad_mmaction.testing import e2e_samples as make_samples
from etad_mmaction.testing import tiny_e2e_batch as make_data
from etad_mmaction.testing import tiny_e2e_model as build

M, T, HW, B = 8, 2, 8, 2


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small CPU kernels: one thread is faster and fair to other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()
            if p.requires_grad and p.grad is not None}


def reference_grads(model, data, features_for_sampler=False):
    """Plain autograd through the whole model; unsampled snippets' features detached."""
    model.zero_grad()
    d = model.data_preprocessor(copy.deepcopy(data), True)
    x = torch.stack(d['inputs']) if isinstance(d['inputs'], list) else d['inputs']
    b, m = x.shape[:2]
    feats = model.encoder(x.flatten(0, 1))                        # all snippets at once
    sel = model.grad_indices(d['data_samples'], m,
                             feats.detach().view(b, m, -1) if features_for_sampler else None)
    mask = torch.zeros(b * m, dtype=torch.bool)
    mask[sel] = True
    feats = torch.where(mask[:, None], feats, feats.detach()) if mask.any() else feats.detach()
    losses = model.detector.loss(feats.view(b, m, -1).transpose(1, 2), d['data_samples'])
    loss, _ = model.parse_losses(losses)
    loss.backward()
    out = grads(model)
    model.zero_grad()
    return out, sel


def step_grads(model, data, accumulative_counts=2):
    """Gradients left by one ``train_step`` when the wrapper does not update yet
    (accumulation over 2 iterations: the loss is scaled by 1/2)."""
    model.zero_grad()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                           accumulative_counts=accumulative_counts)
    log_vars = model.train_step(copy.deepcopy(data), wrapper)
    assert 'loss' in log_vars and torch.isfinite(log_vars['loss'])
    assert not wrapper.should_update() and wrapper.inner_count == 1
    return {k: v * accumulative_counts for k, v in grads(model).items()}


def assert_same(got, ref, encoder_expected=True):
    assert set(got) == set(ref)
    assert any(k.startswith('encoder.') for k in ref) == encoder_expected
    assert any(k.startswith('detector.') for k in ref)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-9, atol=1e-12, msg=k)


@pytest.mark.parametrize('mode', ['single_pass', 'injection'])
def test_ratio_one_equals_plain_autograd(mode):
    model = build(ratio=1.0, mode=mode)
    data = make_data()
    ref, sel = reference_grads(model, data)
    assert sel.numel() == B * M
    assert_same(step_grads(model, data), ref)


@pytest.mark.parametrize('mode', ['single_pass', 'injection'])
def test_partial_ratio_equals_autograd_with_unsampled_detached(mode):
    model = build(ratio=0.3, mode=mode)
    data = make_data(1)
    ref, sel = reference_grads(model, data)
    assert sel.numel() == B * 2                                   # floor(0.3 * 8) per video
    # the choice differs between videos (seeded by sample_idx)
    assert not torch.equal(sel[:2], sel[2:] - M)
    assert_same(step_grads(model, data), ref)


def test_injection_with_feature_guided_sampler():
    model = build(ratio=0.5, mode='injection', sampler=dict(type='FPSSampler'))
    data = make_data(2)
    ref, sel = reference_grads(model, data, features_for_sampler=True)
    assert sel.numel() == B * 4
    assert_same(step_grads(model, data), ref)


@pytest.mark.parametrize('mode', ['single_pass', 'injection'])
def test_loss_mode_gives_the_same_gradients(mode):
    """``forward(mode='loss')`` (MMEngine's default step, DDP) matches train_step."""
    model = build(ratio=0.5, mode=mode)
    data = make_data(3)
    ref = step_grads(model, data)
    model.zero_grad()
    d = model.data_preprocessor(copy.deepcopy(data), True)
    loss, _ = model.parse_losses(model(**d, mode='loss'))
    loss.backward()
    assert_same(grads(model), ref)


@pytest.mark.parametrize('mode', ['single_pass', 'injection'])
def test_ratio_zero_trains_only_the_detector(mode):
    model = build(ratio=0.0, mode=mode)
    assert model.egs.sampler is None
    data = make_data(4)
    ref, sel = reference_grads(model, data)
    assert sel.numel() == 0
    assert_same(step_grads(model, data), ref, encoder_expected=False)


@pytest.mark.slow
def test_accumulation_clipping_and_update_match_between_modes():
    data = [make_data(5), make_data(6)]
    params = {}
    for mode in ('single_pass', 'injection'):
        model = build(ratio=0.5, mode=mode)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5),
                               accumulative_counts=2, clip_grad=dict(max_norm=0.05))
        for d in data:
            model.train_step(copy.deepcopy(d), wrapper)
        assert wrapper.inner_count == 2
        assert all(p.grad is None or not p.grad.abs().any() for p in model.parameters())
        assert MessageHub.get_current_instance().get_scalar('train/grad_norm') is not None
        changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
        assert any(n.startswith('encoder.backbone.layer4') for n in changed)
        assert not any(n.startswith(('encoder.backbone.layer1', 'encoder.backbone.conv1'))
                       for n in changed)
        params[mode] = {n: p.detach().clone() for n, p in model.named_parameters()}
    for n, p in params['single_pass'].items():
        torch.testing.assert_close(params['injection'][n], p, rtol=1e-9, atol=1e-12, msg=n)


def test_sampling_follows_the_epoch():
    model = build(ratio=0.3)
    samples = make_samples()
    first = model.grad_indices(samples, M)
    assert torch.equal(first, model.grad_indices(samples, M))
    model.set_sampling_state(seed=0, epoch=1)
    assert model.detector.sampling_epoch == 1
    assert not torch.equal(first, model.grad_indices(samples, M))


def test_predict_without_gradients_and_shape_errors():
    model = build(ratio=0.5, mode='injection', dtype=torch.float32)
    model.eval()
    data = make_data(7)
    data['inputs'] = [x.float() for x in data['inputs']]
    out = model.val_step(copy.deepcopy(data))
    assert len(out) == B and out[0].pred_instances.segments.shape[1] == 2
    assert all(p.grad is None for p in model.parameters())
    raw = model(**model.data_preprocessor(copy.deepcopy(data)), mode='tensor')
    assert raw['scores'].shape[0] == B
    bad = dict(inputs=[x[:M - 1] for x in data['inputs']], data_samples=make_samples())
    with pytest.raises(ValueError, match='model.detector.num_snippets'):
        model.val_step(bad)


@pytest.mark.parametrize('mode', ['single_pass', 'injection'])
def test_train_step_under_cpu_bf16_autocast(mode):
    """The wrapper's AMP context covers the forward and the injection re-forward."""
    from mmaction.registry import OPTIM_WRAPPERS
    model = build(ratio=0.3, mode=mode, dtype=torch.float32)
    wrapper = OPTIM_WRAPPERS.build(dict(type='CPUBf16OptimWrapper',
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                        accumulative_counts=2))
    data = make_data(8)
    data['inputs'] = [x.float() for x in data['inputs']]
    log_vars = model.train_step(data, wrapper)
    assert torch.isfinite(log_vars['loss'])
    g = model.encoder.backbone.layer4[0].conv2.conv.weight.grad
    assert g is not None and g.dtype == torch.float32 and bool(g.abs().sum() > 0)
