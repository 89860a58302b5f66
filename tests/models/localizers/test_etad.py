"""Behaviour of the ETAD detector: shapes, gradients, overfitting, RoI alignment, errors."""
import pytest
import torch

import etad_mmaction  # noqa: F401
from etad_mmaction.models.utils import (ParallelMLP, boundary_selection_mask,
                                        num_valid_proposals, proposal_targets,
                                        snippet_boundary_targets, temporal_roi_align,
                                        valid_proposals)

from etad_mmaction.testing import C, T, make_samples, small_model
from mmaction.registry import MODELS


def test_proposal_map_counts():
    assert num_valid_proposals(128, 128) == 8256
    pairs = valid_proposals(128, 128)
    assert pairs.shape == (8256, 2)
    assert bool(((pairs[:, 0] >= 0) & (pairs[:, 0] < pairs[:, 1]) & (pairs[:, 1] <= 128)).all())
    assert valid_proposals(10, 3).shape[0] == num_valid_proposals(10, 3) == 27
    assert len({tuple(p) for p in pairs.tolist()}) == 8256


def test_module_shapes_and_dtypes():
    model = small_model()
    feats = torch.randn(2, C, T)
    x, bd = model.extract_feat(feats)
    assert x.shape == (2, 32, T) and bd.shape == (2, 2, T)
    assert bd.dtype == torch.float32 and bool(((bd > 0) & (bd < 1)).all())
    props = valid_proposals(T, T).float()[None].repeat(2, 1, 1)
    outs = model.roi_head(x, props)
    assert len(outs) == 3
    for out in outs:
        for key in ('start_offset', 'end_offset', 'center_offset', 'width_offset',
                    'start_prob', 'end_prob', 'iou_cls', 'iou_reg'):
            assert out[key].shape == props.shape[:2], key
        assert out['refined'].shape == props.shape
    raw = model(feats, make_samples(), mode='tensor')
    assert raw['segments'].shape == props.shape and raw['scores'].shape == props.shape[:2]


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = small_model(sampler=None)  # all proposals
    # low thresholds so that every stage has regression positives at random init
    model.roi_head.train_cfg['stage_pos_iou_thrs'] = (0.3, 0.3, 0.3)
    losses = model(torch.randn(2, C, T), make_samples(), mode='loss')
    assert {'loss_boundary', 's0.loss_iou', 's2.loss_regression'} <= set(losses)
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_overfits_tiny_batch():
    torch.manual_seed(0)
    model = small_model(sampler=dict(type='RandomSampler', ratio=0.3))
    feats = torch.randn(2, C, T)
    samples = make_samples()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(80):
        loss = sum(model(feats, samples, mode='loss').values())
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first / 10
    model.eval()
    pred = model(feats, samples, mode='predict')[0].pred_instances
    top = pred.segments[0] / 2.0  # seconds -> snippets (32 s over 16 snippets)
    gts = torch.tensor([[2., 6.], [9., 14.]])
    assert min(float((top - g).abs().max()) for g in gts) < 1.0


def test_roi_align_matches_hand_interpolation():
    feats = torch.arange(6, dtype=torch.float32).view(1, 1, 6) * 10  # x_i = 10 i at i + 0.5
    regions = torch.tensor([[[1.0, 3.0]]])
    out = temporal_roi_align(feats, regions, num_bins=2, samples_per_bin=1)
    # bin centres at 1.5 and 2.5 -> indices 1.0 and 2.0 -> 10, 20
    assert torch.allclose(out, torch.tensor([[[10.0, 20.0]]]))
    out = temporal_roi_align(feats, regions, num_bins=1, samples_per_bin=2)
    # points 1.5, 2.5 -> mean 15
    assert torch.allclose(out, torch.tensor([[[15.0]]]))
    out = temporal_roi_align(feats, torch.tensor([[[0.0, 1.0]]]), num_bins=2, samples_per_bin=1)
    # points 0.25 (index -0.25: 0.75 * x0 + 0.25 * zero pad) and 0.75 (index 0.25)
    assert torch.allclose(out, torch.tensor([[[0.0, 2.5]]]))
    out = temporal_roi_align(feats, torch.tensor([[[2.2, 2.2 + 1e-6]]]), 1, 1)
    assert torch.allclose(out, torch.tensor([[[17.0]]]), atol=1e-3)


def test_parallel_mlp_equals_separate_stacks():
    mlp = ParallelMLP(3, [6, 5, 4, 2])
    x = torch.randn(7, 6)
    out = mlp(x)
    for g in range(3):
        h = x
        for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
            h = h @ w[g] + b[g, 0]
            if i < 2:
                h = torch.relu(h)
        assert torch.allclose(out[g], h, atol=1e-6)
    xs = torch.randn(3, 7, 6)
    assert torch.allclose(mlp(xs)[1], mlp(xs[1])[1], atol=1e-6)


def test_targets():
    gts = [torch.tensor([[2.0, 6.0]])]
    bd = snippet_boundary_targets(gts, 10, radius=1.5)
    assert bd[0, 0].nonzero().flatten().tolist() == [1, 2]   # [0.5, 3.5] covers >half of 1, 2
    assert bd[0, 1].nonzero().flatten().tolist() == [5, 6]
    props = torch.tensor([[[2.0, 6.0], [1.0, 5.0], [7.0, 9.0]]])
    tgt = proposal_targets(props, gts)
    assert torch.allclose(tgt['iou'][0], torch.tensor([1.0, 0.6, 0.0]))
    assert torch.allclose(tgt['offsets'][0, 0], torch.zeros(4))
    assert torch.allclose(tgt['offsets'][0, 1], torch.tensor([0.25, 0.25, 0.25, 0.0]))
    assert tgt['start_cls'][0].tolist() == [1.0, 1.0, 0.0]


def _targets_per_video(proposals, gts, radius=1.5):
    """Reference: the targets of one video at a time (App. A.3), by explicit loops."""
    from etad_mmaction.structures import pairwise_tiou
    b, n = proposals.shape[:2]
    out = dict(iou=torch.zeros(b, n), offsets=torch.zeros(b, n, 4),
               start_cls=torch.zeros(b, n), end_cls=torch.zeros(b, n))
    for i, gt in enumerate(gts):
        if gt.numel() == 0:
            continue
        p = proposals[i]
        best, arg = pairwise_tiou(p, gt).max(dim=1)
        g = gt[arg]
        ts, te = p[:, 0], p[:, 1]
        d = (te - ts).clamp(min=1e-3)
        out['iou'][i] = best
        out['offsets'][i] = torch.stack([(g[:, 0] - ts) / d, (g[:, 1] - te) / d,
                                         (g.sum(1) - ts - te) / 2 / d,
                                         torch.log((g[:, 1] - g[:, 0]).clamp(min=1e-3) / d)], 1)
        out['start_cls'][i] = ((ts[:, None] - gt[None, :, 0]).abs() <= radius).any(1).float()
        out['end_cls'][i] = ((te[:, None] - gt[None, :, 1]).abs() <= radius).any(1).float()
    return out


@pytest.mark.parametrize('seed', range(5))
def test_batched_targets_equal_per_video_targets(seed):
    """Padded, batched targets = the per-video definition, with 0 to 4 ground-truth
    segments per video (ties in IoU resolved to the first segment in both)."""
    g = torch.Generator().manual_seed(seed)
    t = 20
    gts = []
    for count in (0, 1, 4, 2, 3):
        s = torch.randint(0, t - 2, (count,), generator=g).float()
        gts.append(torch.stack([s, s + torch.randint(1, 6, (count,), generator=g)], 1))
    gts[3] = torch.cat([gts[3], gts[3][:1]])       # a duplicate segment: an exact IoU tie
    a = torch.randint(0, t - 1, (5, 60), generator=g).float()
    props = torch.stack([a, a + torch.randint(1, 8, (5, 60), generator=g)], -1)
    props[:, :3] += 0.25                           # off-grid proposals (refined stages)
    got = proposal_targets(props, gts)
    ref = _targets_per_video(props, gts)
    for key in ref:
        torch.testing.assert_close(got[key], ref[key], rtol=0, atol=0, msg=key)
    bd = snippet_boundary_targets(gts, t)
    for i, gt in enumerate(gts):
        torch.testing.assert_close(bd[i:i + 1], snippet_boundary_targets([gt], t), rtol=0, atol=0)
    assert bd[0].sum() == 0


def test_negatives_are_seeded_balanced_and_batch_independent():
    model = small_model()
    g = torch.Generator().manual_seed(0)
    gt_iou = torch.rand(4, 50, generator=g)
    gt_iou[1] = 0.0                                  # no positives: no negatives either
    gt_iou[2, :45] = 0.95                            # more positives than negatives
    samples = make_samples(4)
    head = model.roi_head

    def negatives(iou, videos, stage=0):
        """Stage ``stage``'s negatives of ``iou [B, N]`` (earlier stages get zeros)."""
        stacked = torch.stack([torch.zeros_like(iou)] * stage + [iou])
        return head.sample_negatives(stacked > head.train_cfg['iou_cls_pos_thr'],
                                     model.sampling_keys(videos)[:, 1])[stage]

    neg = negatives(gt_iou, samples)
    pos = gt_iou > head.train_cfg['iou_cls_pos_thr']
    assert not (neg & pos).any()
    assert neg.sum(1).tolist() == torch.minimum(pos.sum(1), (~pos).sum(1)).tolist()
    # per video: the same draw whatever the rest of the batch is
    alone = negatives(gt_iou[3:], samples[3:])
    assert torch.equal(alone[0], neg[3])
    assert not torch.equal(negatives(gt_iou, samples, stage=1), neg)
    # all stages at once = stage by stage
    staged = head.sample_negatives(torch.stack([gt_iou, gt_iou.flip(1)]) > 0.9,
                                   model.sampling_keys(samples)[:, 1])
    assert torch.equal(staged[0], neg)
    assert torch.equal(staged[1], negatives(gt_iou.flip(1), samples, stage=1))
    # uniform over the negatives: each is picked with probability k / #neg
    hits = torch.zeros(50)
    iou0 = gt_iou[0:1]
    for epoch in range(400):
        model.set_sampling_state(epoch=epoch)
        hits += negatives(iou0, samples[:1])[0].float()
    k, nneg = int(pos[0].sum()), int((~pos[0]).sum())
    freq = hits[~pos[0]] / 400
    assert abs(float(freq.mean()) - k / nneg) < 1e-6
    sd = (k / nneg * (1 - k / nneg) / 400) ** 0.5
    assert float((freq - k / nneg).abs().max()) < 4 * sd + 0.02


def _balanced_bce_reference(p, t, eps=1e-6):
    """Eq. 2 with boolean indexing."""
    p = p.clamp(eps, 1 - eps)
    pos = t > 0.5
    return 0.5 * (-torch.log(p[pos]).sum() / max(int(pos.sum()), 1)
                  - torch.log(1 - p[~pos]).sum() / max(int((~pos).sum()), 1))


def _stage_losses_reference(out, tgt, neg, thr, eps=1e-6):
    """Eq. 2-4 of one stage, written out with boolean indexing and plain means."""
    import torch.nn.functional as F
    bal = _balanced_bce_reference
    pb = bal(out['start_prob'], tgt['start_cls']) + bal(out['end_prob'], tgt['end_cls'])
    g = tgt['iou']
    pos = g > 0.9
    sel = pos | neg
    p = out['iou_cls'].clamp(eps, 1 - eps)
    bce = torch.where(pos, -torch.log(p), -torch.log(1 - p))
    cls = bce[sel].sum() / max(int(sel.sum()), 1)
    sq = (out['iou_reg'] - g).square()
    means = [sq[m].mean() for m in (g <= 0.3, (g > 0.3) & (g <= 0.7), g > 0.7) if m.any()]
    iou = cls + sum(means) / max(len(means), 1)
    pred = torch.stack([out[k] for k in ('start_offset', 'end_offset', 'center_offset',
                                         'width_offset')], -1)
    rpos = g > thr
    rg = F.smooth_l1_loss(pred[rpos], tgt['offsets'][rpos], reduction='sum') / max(
        int(rpos.sum()), 1)
    return pb, iou, 10.0 * rg


def test_stacked_cascade_loss_equals_per_stage_definition():
    """The cascade's losses computed together on [S, B, N] stacks equal Eq. 2-4
    applied to each stage alone (float64), including a stage with an empty IoU bin
    and no positives."""
    loss = MODELS.build(dict(type='ETADLoss'))
    g = torch.Generator().manual_seed(0)
    b, n, thr = 2, 30, (0.7, 0.8, 0.9)
    outs, tgts, negs = [], [], []
    for s in range(3):
        r = lambda *shape: torch.rand(*shape, generator=g, dtype=torch.float64)  # noqa: E731
        out = {k: r(b, n) for k in ('start_prob', 'end_prob', 'iou_cls', 'iou_reg')}
        out.update({k: r(b, n) - 0.5 for k in ('start_offset', 'end_offset', 'center_offset',
                                                'width_offset')})
        iou = r(b, n) if s < 2 else r(b, n) * 0.25         # stage 2: only the low bin
        tgts.append(dict(iou=iou, offsets=r(b, n, 4) - 0.5,
                         start_cls=(r(b, n) > 0.7).double(), end_cls=(r(b, n) > 0.7).double()))
        outs.append(out)
        negs.append(r(b, n) > 0.8)
    bd = torch.rand(b, 2, 16, generator=g, dtype=torch.float64)
    bd_t = (torch.rand(b, 2, 16, generator=g) > 0.8).double()
    stacked = {k: torch.stack([t[k] for t in tgts]) for k in tgts[0]}
    iou = stacked['iou']
    masks = dict(reg_pos=iou > torch.tensor(thr, dtype=iou.dtype).view(-1, 1, 1),
                 iou_cls_pos=iou > 0.9, iou_cls_neg=torch.stack(negs) & (iou <= 0.9),
                 iou_reg_bins=(iou <= 0.3, (iou > 0.3) & (iou <= 0.7), iou > 0.7))
    got = loss(bd, bd_t, outs, stacked, masks)
    for s in range(3):
        ref = _stage_losses_reference(outs[s], tgts[s], negs[s], thr[s])
        for name, value in zip(('loss_proposal_boundary', 'loss_iou', 'loss_regression'), ref):
            torch.testing.assert_close(got[f's{s}.{name}'], value, rtol=1e-12, atol=1e-12)
    ref_bd = _balanced_bce_reference(bd[:, 0], bd_t[:, 0]) + \
        _balanced_bce_reference(bd[:, 1], bd_t[:, 1])
    torch.testing.assert_close(got['loss_boundary'], ref_bd, rtol=1e-12, atol=1e-12)


def test_boundary_selection():
    p = torch.tensor([[0.1, 0.5, 0.2, 0.3, 0.9, 0.1]])
    mask = boundary_selection_mask(p, 0.5, keep_first=True)
    assert mask[0].tolist() == [True, True, False, False, True, False]


def test_predict_outputs_seconds_and_batch():
    model = small_model().eval()
    samples = make_samples(3)
    samples[2].set_metainfo(dict(window_start=100.0))
    out = model(torch.randn(3, C, T), samples, mode='predict')
    for ds in out:
        pred = ds.pred_instances
        assert pred.segments.shape[1] == 2 and len(pred.scores) == len(pred.segments) > 0
        assert torch.isfinite(pred.scores).all() and bool((pred.scores >= 0).all())
    assert float(out[2].pred_instances.segments.min()) >= 0
    assert float(out[0].pred_instances.segments.max()) <= 32.0


def test_chunked_and_selected_inference_is_exact():
    model = small_model().eval()
    feats = torch.randn(2, C, T)
    cfg = model.roi_head.test_cfg
    cfg['selected_only'] = False
    cfg['peak_ratio'] = 0.999  # untrained heads are flat: select a strict subset
    full = model(feats, make_samples(), mode='tensor')
    cfg['proposal_chunk'] = 7
    chunked = model(feats, make_samples(), mode='tensor')
    assert torch.allclose(full['scores'], chunked['scores'], atol=1e-6)
    assert torch.allclose(full['segments'], chunked['segments'], atol=1e-5)
    cfg['selected_only'] = True
    sel = model(feats, make_samples(), mode='tensor')
    valid = full['valid']
    assert torch.equal(sel['valid'], valid) and 0 < int(valid.sum()) < valid.numel()
    assert torch.allclose(sel['scores'], full['scores'] * valid, atol=1e-6)
    assert torch.allclose(sel['segments'][valid], full['segments'][valid], atol=1e-5)


def test_sampling_is_seeded_per_video():
    model = small_model()
    x = torch.randn(2, 32, T)
    head = model.roi_head

    def draw():
        return head.sample_proposals(x, model.sampling_keys(make_samples())[:, 0],
                                     head.proposal_sampler)

    a, b = draw(), draw()
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])  # different video index -> different draw
    model.set_sampling_state(epoch=1)
    assert not torch.equal(draw(), a)
    k = head.proposal_sampler.num_samples(num_valid_proposals(T, T))
    assert a.shape == (2, k, 2)


@pytest.mark.parametrize('sampler', [
    dict(type='GridSampler', ratio=0.2), dict(type='BlockSampler', ratio=0.2),
    dict(type='FPSSampler', ratio=0.2), dict(type='DPPSampler', ratio=0.2),
    dict(type='IoUBalancedSampler', ratio=0.2), dict(type='ScaleBalancedSampler', ratio=0.2)])
def test_every_sampler_trains(sampler):
    model = small_model(sampler=sampler)
    losses = model(torch.randn(2, C, T), make_samples(), mode='loss')
    assert torch.isfinite(sum(losses.values()))


def test_invalid_configuration_names_the_key():
    with pytest.raises(ValueError, match='ratio'):
        small_model(sampler=dict(type='RandomSampler', ratio=1.5))
    with pytest.raises(KeyError, match='model.roi_head.proposal_sampler'):
        small_model(sampler=dict(type='NoSuchSampler', ratio=0.1))
    with pytest.raises(ValueError, match='neck.out_channels'):
        small_model(roi_head=dict(stage_head=dict(in_channels=16)))
    with pytest.raises(TypeError, match='model.neck'):
        small_model(neck=None)
    with pytest.raises(KeyError, match='iou_cls_pos_thr'):
        MODELS.build(dict(type='ETADLoss', iou_cls_pos_threshold=0.9))
    with pytest.raises(ValueError, match='max_duration'):
        small_model(max_duration=T + 1)
    model = small_model()
    with pytest.raises(ValueError, match='num_snippets'):
        model(torch.randn(2, C, T + 2), make_samples(), mode='loss')
    with pytest.raises(ValueError, match='in_channels'):
        model(torch.randn(2, C + 1, T), make_samples(), mode='loss')
    with pytest.raises(KeyError, match='loss_weights'):
        MODELS.build(dict(type='ETADLoss', loss_weights=dict(bogus=1.0)))


@pytest.mark.parametrize('max_chunk', [1 << 24, 12 * 4 * 7, 1])
def test_fused_roi_first_layer_equals_explicit_roi_features(max_chunk):
    """roi_align_linear == temporal_roi_align followed by the FC layer (float64),
    values and gradients, for the whole batch at once or one video at a time (``Z``
    of one video: T 12 x 4 bins x 7 outputs), and the whole stage agrees in both modes."""
    from etad_mmaction.models.roi_heads import ProposalEvaluationHead, TemporalRoIExtractor
    from roi_align_reference import roi_align_linear
    torch.manual_seed(0)
    feats = torch.randn(2, 5, 12, dtype=torch.float64, requires_grad=True)
    regions = torch.tensor([[[-1.0, 4.5], [3.2, 11.9], [0.0, 12.0]],
                            [[5.0, 6.0], [-3.0, 15.0], [2.5, 2.75]]], dtype=torch.float64)
    weight = torch.randn(4 * 5, 7, dtype=torch.float64, requires_grad=True)
    fused = roi_align_linear(feats, regions, weight, num_bins=4, samples_per_bin=2,
                             max_chunk_elements=max_chunk)
    explicit = temporal_roi_align(feats, regions, 4, 2) @ weight
    assert torch.allclose(fused, explicit, atol=1e-10)
    g = torch.randn_like(fused)
    ga = torch.autograd.grad(fused, (feats, weight), g)
    gb = torch.autograd.grad(explicit, (feats, weight), g)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-10)
    stage = ProposalEvaluationHead(in_channels=8, roi_channels=8, hidden_dims=(16, 8),
                                   num_groups=2).double()
    x_in = torch.randn(2, 8, 12, dtype=torch.float64)
    x = stage.stage_features(x_in).detach()
    props = valid_proposals(12, 12).double()[None].repeat(2, 1, 1)
    taps = TemporalRoIExtractor()(props, 12)
    a = stage(x, props, taps)
    stage.roi_group_elements = 1                   # one video at a time: same values
    for k, v in stage(x, props, taps).items():
        assert torch.allclose(a[k], v, atol=1e-12), k
    stage.fused_roi = False
    b = stage(x, props, taps)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-9), k
    # and the same gradients for every parameter of the stage
    params = [p for p in stage.parameters()]
    grads = []
    for fused in (True, False):
        stage.fused_roi = fused
        out = stage(stage.stage_features(x_in), props, taps)
        loss = sum((out[k] * (i + 1)).sum() for i, k in enumerate(sorted(out)))
        grads.append(torch.autograd.grad(loss, params, allow_unused=True))
    for ga, gb in zip(*grads):
        assert (ga is None) == (gb is None)
        if ga is not None:
            assert torch.allclose(ga, gb, atol=1e-9)


def test_multi_region_taps_and_branches_equal_single_region_calls():
    """interpolation_taps of [B, N, R, 2] regions with R bin counts == R separate calls;
    taps_linear with G branches == roi_align_linear per branch (float64, with grouping);
    taps built under inference_mode are reusable by a later training step (cached)."""
    from roi_align_reference import roi_align_linear

    from etad_mmaction.models.utils.roi_align import (interpolation_taps, proposal_regions,
                                                      taps_linear)
    torch.manual_seed(0)
    props = torch.tensor([[[0.0, 4.0], [3.5, 11.0], [7.0, 7.5]],
                          [[-1.0, 3.0], [2.0, 12.0], [5.5, 6.0]]], dtype=torch.float64)
    regions = proposal_regions(props, 0.5)                        # [2, 3, 3, 2]
    bins = (4, 4, 6)
    multi = interpolation_taps(regions, 12, bins, 2)
    for r, (idx, w) in enumerate(multi):
        ref_idx, ref_w = interpolation_taps(regions[:, :, r], 12, bins[r], 2)
        assert torch.equal(idx, ref_idx) and torch.allclose(w, ref_w, atol=1e-15)
    feats = torch.randn(2, 5, 12, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 4 * 5, 7, dtype=torch.float64, requires_grad=True)
    (s_idx, s_w), (e_idx, e_w) = multi[:2]
    for chunk in (1 << 24, 1):
        got = taps_linear(feats, torch.stack([s_idx, e_idx], 2), torch.stack([s_w, e_w], 2),
                          weight, chunk)
        ref = torch.stack([roi_align_linear(feats, regions[:, :, g], weight[g], 4, 2)
                           for g in range(2)], dim=2)
        assert torch.allclose(got, ref, atol=1e-12)
        g = torch.randn_like(got)
        for a, b in zip(torch.autograd.grad(got, (feats, weight), g),
                        torch.autograd.grad(ref, (feats, weight), g)):
            assert torch.allclose(a, b, atol=1e-12)
    weight5 = torch.randn(5 * 5, 7, dtype=torch.float64, requires_grad=True)
    with torch.inference_mode():                   # first use of 5 bins: cached here
        roi_align_linear(feats.detach(), regions[:, :, 2], weight5.detach(), 5, 3)
    out = roi_align_linear(feats, regions[:, :, 2], weight5, 5, 3)
    out.sum().backward()
    assert feats.grad is not None


def test_earlier_keys_and_checkpoints_still_load(caplog):
    """Configs and checkpoints of the pre-RoI-head layout: translated with a warning."""
    old = MODELS.build(dict(
        type='ETAD', num_snippets=T,
        neck=dict(type='LSTMFeatureEnhancement', in_channels=C, hidden_channels=32,
                  branch_channels=16, out_channels=32, num_groups=4),
        boundary_head=dict(type='BoundaryHead', in_channels=32, feat_channels=32, num_groups=4),
        proposal_head=dict(type='CascadeProposalHead', in_channels=32, roi_channels=16,
                           hidden_dims=(32, 16, 16, 16), num_groups=4,
                           pos_iou_thresholds=(0.5, 0.6, 0.7)),
        sampler=dict(ratio=0.25), test_cfg=dict(peak_ratio=0.4)))
    head = old.roi_head
    assert head.train_cfg['stage_pos_iou_thrs'] == (0.5, 0.6, 0.7)
    assert type(head.proposal_sampler).__name__ == 'RandomSampler'   # type kept, ratio merged
    assert head.proposal_sampler.ratio == 0.25 and head.test_cfg['peak_ratio'] == 0.4
    new = small_model()
    state = {k.replace('roi_head.', 'proposal_head.'): v for k, v in new.state_dict().items()}
    assert any(k.startswith('proposal_head.') for k in state)
    old.load_state_dict(state, strict=True)
    for k, v in new.state_dict().items():
        assert torch.equal(old.state_dict()[k], v), k


def test_model_level_cfg_keys_are_checked():
    with pytest.raises(KeyError, match='model.roi_head.test_cfg.score'):
        small_model(test_cfg=dict(score='released'))
    with pytest.raises(KeyError, match='model.roi_head.train_cfg.negatives'):
        small_model(train_cfg=dict(negatives='batch_ratio'))
    with pytest.raises(KeyError, match="_delete_"):
        small_model(test_cfg=dict(nms=dict(type='gaussian_soft_nms', alpha=0.4)))
    with pytest.raises(ValueError, match='model.roi_head.test_cfg.score'):
        small_model(roi_head=dict(test_cfg=dict(score='bogus')))
    loss = MODELS.build(dict(type='ETADLoss', loss_weights=dict(iou_cls=1.0, iou_reg=1.0,
                                                                iou=2.0)))
    assert loss.loss_weights['iou_cls'] == loss.loss_weights['iou_reg'] == 2.0


def test_edge_peaks_and_bounded_roi_align_taps():
    p = torch.tensor([[0.3, 0.1, 0.2, 0.1, 0.25]])
    assert boundary_selection_mask(p, 1.0)[0].tolist() == [False, False, True, False, False]
    padded = boundary_selection_mask(p, 1.0, edge_peaks=True)[0].tolist()
    assert padded == [True, False, True, False, True]
    from etad_mmaction.models.roi_heads import roi_align_taps
    # a region 1000x the video: at most 2 T + 4 samples per bin are kept, and they are
    # the ones inside [-1, T] (the others read zeros)
    feats = torch.randn(1, 3, 10, dtype=torch.float64)
    regions = torch.tensor([[[-5000.0, 5000.0], [2.0, 9.0]]], dtype=torch.float64)
    index, weight = roi_align_taps(regions, 10, 4)
    assert index.shape[-1] <= 2 * (2 * 10 + 4)
    got = (feats[0, :, index[0]] * weight[0]).sum(-1)                # [C, 2, bins]
    torchvision = pytest.importorskip('torchvision')
    boxes = torch.tensor([[0, 0, -5000.0, 1, 5000.0], [0, 0, 2.0, 1, 9.0]], dtype=torch.float64)
    ref = torchvision.ops.roi_align(feats.unsqueeze(-1), boxes, (4, 1), aligned=False)[..., 0]
    torch.testing.assert_close(got.permute(1, 0, 2), ref, atol=1e-12, rtol=0)
