"""The training step as one graph: ``ETAD.loss_tensors`` traces without graph
breaks for every DPS sampler that does not read features, and the compiled step
(inductor) trains like the eager one."""
import pytest
import torch
import torch._dynamo as dynamo
import torch._inductor.config as inductor_config

from etad_mmaction.testing import C, T, make_samples, small_model

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it

BATCHED = ['RandomProposalSampler', 'GridProposalSampler', 'BlockProposalSampler',
           'IoUBalancedProposalSampler', 'ScaleBalancedProposalSampler']


def step_inputs(model, step=0, b=3):
    """Features, padded ground truth and keys of a batch of ``b`` videos whose
    ground-truth counts differ."""
    g = torch.Generator().manual_seed(step)
    feats = torch.randn(b, C, T, generator=g)
    samples = []
    for i in range(b):
        s = torch.randint(0, T - 6, (1 + i % 3,), generator=g).float()
        seg = torch.stack([s, s + torch.randint(2, 6, s.shape, generator=g)], 1)
        samples += make_samples(1, segments=seg.tolist(), first_index=step * b + i)
    return feats, samples


@pytest.fixture
def allow_rnn():
    old = dynamo.config.allow_rnn
    dynamo.config.allow_rnn = True
    dynamo.reset()
    yield
    dynamo.config.allow_rnn = old
    dynamo.reset()


@pytest.mark.parametrize('sampler', BATCHED)
def test_training_step_traces_as_one_graph(sampler, allow_rnn):
    model = small_model(sampler=dict(type=sampler, ratio=0.25))
    assert model.roi_head.host_work() == ''
    feats, samples = step_inputs(model)
    padded, valid = model._padded_gts(samples, feats)
    keys = model.sampling_keys(samples)

    def step(*args):
        return sum(model.loss_tensors(*args).values())

    report = dynamo.explain(step)(feats, padded, valid, keys)
    assert (report.graph_count, report.graph_break_count) == (1, 0), report.break_reasons
    # and the traced program is the eager one
    torch.testing.assert_close(torch.compile(step, backend='eager', fullgraph=True)(
        feats, padded, valid, keys), step(feats, padded, valid, keys), rtol=0, atol=0)


def test_host_work_is_named():
    assert 'FPSSampler' in small_model(sampler=dict(type='FPSProposalSampler',
                                                    ratio=0.25)).roi_head.host_work()
    official = small_model(roi_head=dict(roi_extractor=dict(convention='roi_align')))
    assert 'roi_align' in official.roi_head.host_work()


def test_compiled_step_equals_eager_for_three_steps(allow_rnn):
    """Inductor on the CPU: losses and gradients of three SGD steps within 1e-5.
    (Two stages and scalar C++ kernels keep the cold compile near two minutes on
    two cores; the one-graph test above traces all three stages.)"""
    torch.manual_seed(0)
    kw = dict(sampler=dict(type='RandomProposalSampler', ratio=0.25),
              roi_head=dict(num_stages=2, train_cfg=dict(stage_pos_iou_thrs=(0.7, 0.8))))
    eager, compiled = small_model(**kw), small_model(**kw)
    compiled.load_state_dict(eager.state_dict())
    compiled.compile_loss()
    with inductor_config.patch({'cpp.vec_isa_ok': False}):
        _train_and_compare(eager, compiled)


def _train_and_compare(eager, compiled):
    optims = [torch.optim.SGD(m.parameters(), lr=0.05) for m in (eager, compiled)]
    for step in range(3):
        feats, samples = step_inputs(eager, step)
        results = []
        for model, optim in zip((eager, compiled), optims):
            optim.zero_grad()
            losses = model.loss(feats, samples)
            sum(losses.values()).backward()
            results.append((losses, {n: p.grad.clone() for n, p in model.named_parameters()
                                     if p.grad is not None}))
            optim.step()
        (want, want_grads), (got, got_grads) = results
        assert set(got) == set(want)
        for key in want:
            torch.testing.assert_close(got[key], want[key], atol=1e-5, rtol=1e-5)
        assert set(got_grads) == set(want_grads) and len(want_grads) > 10
        for name, grad in want_grads.items():
            torch.testing.assert_close(got_grads[name], grad, atol=1e-5, rtol=1e-5)
