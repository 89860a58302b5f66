"""ETADRoIHead: seeded per-video sampling and negatives, the fused RoI layer, chunked
and selected inference, edge peaks."""
import pytest
import torch

import etad_mmaction  # noqa: F401
from etad_mmaction.models.utils import (boundary_selection_mask, num_valid_proposals,
                                        temporal_roi_align, valid_proposals)
from etad_mmaction.testing import C, T, make_samples, small_model


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


@pytest.mark.parametrize('extractor,fused,chunk', [
    (None, True, None), (None, False, 5), (None, True, 3),
    (dict(type='TemporalRoIExtractor', convention='roi_align', extended_bins=24,
          boundary_bins=6, boundary_from_extended=True), True, None)])
def test_batched_inference_packs_videos_without_leaking(extractor, fused, chunk):
    """Selected proposals of a batch run packed in one row (no padding): each video's
    scores and segments equal those of the video alone, for both RoI conventions,
    the fused and the materialised RoI layer, chunks that split a video, different
    numbers of selected proposals per video and taps past the ends."""
    stage_head = dict(in_channels=32, roi_channels=16, num_groups=4,
                      hidden_dims=(32, 16, 16, 16), fused_roi=fused)
    roi_head = dict(stage_head=stage_head)
    if extractor:
        roi_head['roi_extractor'] = extractor
        stage_head.update(boundary_bins=6, extended_bins=24)
    torch.manual_seed(0)
    model = small_model(roi_head=roi_head).eval()
    model.roi_head.test_cfg['peak_ratio'] = 0.999
    model.roi_head.test_cfg['proposal_chunk'] = chunk
    feats = torch.randn(3, C, T) * torch.tensor([1.0, 3.0, 0.3]).view(3, 1, 1)
    samples = make_samples(3)
    with torch.no_grad():
        batch = model(feats, samples, mode='tensor')
        alone = [model(feats[i:i + 1], samples[i:i + 1], mode='tensor') for i in range(3)]
    counts = batch['valid'].sum(1).tolist()
    assert len(set(counts)) > 1 and min(counts) > 0
    for i, one in enumerate(alone):
        assert torch.equal(batch['valid'][i], one['valid'][0])
        torch.testing.assert_close(batch['scores'][i], one['scores'][0], rtol=0, atol=1e-6)
        torch.testing.assert_close(batch['segments'][i], one['segments'][0], rtol=0,
                                   atol=1e-5)


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
                           for g in range(2)]).view(2, 6, 7)     # [G, B * N, O]
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


def test_sampler_features_roi_are_the_first_stages_extended_roi_features():
    """``sampler_features='roi'`` (App. H): FPS/DPP read each proposal's RoI
    features; they equal the materialised extended-region features of stage 0."""
    from etad_mmaction.models.roi_heads.temporal_roi_extractor import TemporalRoIExtractor
    torch.manual_seed(0)
    model = small_model(roi_head=dict(sampler_features='roi'))
    head = model.roi_head
    x = torch.randn(2, 32, T)
    feats = head.sampler_feature_batch(x)
    n = head.anchors.shape[0]
    assert feats.shape == (2, n, 16 * head.roi_extractor.extended_bins)
    pick = torch.tensor([0, 5, n - 1])
    props = head.anchors[pick].float()[None].expand(2, -1, -1)
    ref = TemporalRoIExtractor.gather(head.stages[0].stage_features(x),
                                      head.roi_extractor(props, T)[1])[0].view(2, 3, -1)
    assert torch.allclose(feats[:, pick], ref, atol=1e-6)
    pooled = small_model().roi_head.sampler_feature_batch(x)
    assert pooled.shape == (2, n, 32 + 3)
    with pytest.raises(ValueError, match='model.roi_head.sampler_features'):
        small_model(roi_head=dict(sampler_features='mean'))


@pytest.mark.parametrize('convention', ['linear', 'roi_align'])
def test_roi_sampler_features_in_chunks_equal_one_gather(convention):
    """The 'roi' sampler features are gathered in proposal chunks (bounded memory):
    the same values as one gather of the whole map, for any chunk size."""
    from etad_mmaction.models.roi_heads import TemporalRoIExtractor
    torch.manual_seed(0)
    model = small_model(roi_head=dict(sampler_features='roi',
                                      roi_extractor=dict(convention=convention)))
    head = model.roi_head
    x = torch.randn(3, 32, T)
    b, n = 3, head.anchors.shape[0]
    anchors = head.anchors.float().unsqueeze(0).expand(b, -1, -1)
    ref = TemporalRoIExtractor.gather(head.stages[0].stage_features(x),
                                      head.roi_extractor(anchors, T)[1])[0].view(b, n, -1)
    for chunk in (None, 1, 7, n, n + 5):
        assert torch.equal(head._roi_features(x, chunk=chunk), ref), chunk
    head.roi_feature_chunk_bytes = 1            # default chunk: one proposal
    assert torch.equal(head.sampler_feature_batch(x), ref)


@pytest.mark.parametrize('sampler', ['FPSProposalSampler', 'DPPProposalSampler'])
def test_feature_guided_dps_on_roi_features_trains_and_is_seeded(sampler):
    torch.manual_seed(0)
    model = small_model(sampler=dict(type=sampler, ratio=0.2),
                        roi_head=dict(sampler_features='roi'))
    feats, samples = torch.randn(2, C, T), make_samples()
    losses = model(feats, samples, mode='loss')
    sum(losses.values()).backward()
    x = model.neck(feats)
    keys = torch.tensor([3, 4])
    a = model.roi_head.sample_proposals(x, keys, model.roi_head.proposal_sampler)
    b = model.roi_head.sample_proposals(x, keys, model.roi_head.proposal_sampler)
    assert torch.equal(a, b) and a.shape == (2, int(0.2 * model.roi_head.anchors.shape[0]), 2)
    for other in (torch.tensor([5, 6]), torch.tensor([4, 3])):   # other keys, other picks
        c = model.roi_head.sample_proposals(x, other, model.roi_head.proposal_sampler)
        assert not torch.equal(c[0], a[0]) and not torch.equal(c[1], a[1])


def _materialised_first_layer(feats, index, tap_w, weight, bias):
    """Reference of taps_linear: the RoI features gathered, then each branch's
    product (``[G * S, B * N, O]``)."""
    from etad_mmaction.models.roi_heads.temporal_roi_extractor import TemporalRoIExtractor
    roi = TemporalRoIExtractor.gather(feats, (index, tap_w))            # [G, B*N, bins*C]
    s = weight.shape[0] // roi.shape[0]
    out = torch.bmm(roi.repeat_interleave(s, dim=0), weight)
    return out if bias is None else out + bias


@pytest.mark.parametrize('groups,branches', [(2, 1), (1, 3), (2, 2)])
@pytest.mark.parametrize('chunk', [None, 1, 12 * 2 * 6, 12 * 2 * 6 * 2 * 3, 1 << 40])
def test_tiled_roi_layer_equals_the_materialised_layer(chunk, groups, branches):
    """taps_linear (tiles of videos x bins, hand-written backward, output branch-major
    with the bias added) == the RoI features gathered and multiplied (float64, values
    and the gradients of features, weight and bias), for every tiling: one bin of one
    video, several bins, several videos, one tile; G tap groups read by S branches
    each; the taps include regions past both ends (zero weights, clamped rows)."""
    from etad_mmaction.models.utils.roi_align import interpolation_taps, taps_linear
    torch.manual_seed(0)
    b, n, g, s, bins, c, o, t = 4, 7, groups, branches, 6, 5, 6, 12
    feats = torch.randn(b, c, t, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(g * s, bins * c, o, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(g * s, 1, o, dtype=torch.float64, requires_grad=True)
    regions = torch.sort(torch.rand(b, n, g, 2, dtype=torch.float64) * (t + 8) - 4,
                         dim=-1).values
    index, tap_w = interpolation_taps(regions, t, bins, 2)
    got = taps_linear(feats, index, tap_w, weight, chunk, bias=bias)
    ref = _materialised_first_layer(feats, index, tap_w, weight, bias)
    assert got.shape == (g * s, b * n, o)
    assert torch.allclose(got, ref, rtol=0, atol=1e-12)
    grad = torch.randn_like(got)
    ref_grads = torch.autograd.grad(ref, (feats, weight, bias), grad)
    for a, r in zip(torch.autograd.grad(got, (feats, weight, bias), grad), ref_grads):
        assert torch.allclose(a, r, rtol=0, atol=1e-12)
    # only the features need a gradient: the others are not computed; no bias
    fixed = weight.detach()
    out = taps_linear(feats, index, tap_w, fixed, chunk)
    assert torch.allclose(out, ref - bias, rtol=0, atol=1e-12)
    (gx,) = torch.autograd.grad(out, feats, grad)
    assert torch.allclose(gx, ref_grads[0], rtol=0, atol=1e-12)
    # packed proposals of uneven counts (a video with none): each video on its own
    counts = [3, 0, 7, 5]
    keep = torch.cat([torch.arange(k) + v * n for v, k in enumerate(counts)])
    packed = taps_linear(feats, index.flatten(0, 1)[keep][None],
                         tap_w.flatten(0, 1)[keep][None], weight, chunk, counts=counts,
                         bias=bias)
    assert torch.allclose(packed, ref[:, keep].detach(), rtol=0, atol=1e-12)
    ref = _materialised_first_layer(feats, index, tap_w, weight, bias)[:, keep]
    ref_grads = torch.autograd.grad(ref, (feats, weight, bias), grad[:, keep])
    for a, r in zip(torch.autograd.grad(packed, (feats, weight, bias), grad[:, keep]),
                    ref_grads):
        assert torch.allclose(a, r, rtol=0, atol=1e-12)
    # relu=True: the activations, and the mask applied to every gradient (the bias's
    # alone too)
    act = taps_linear(feats, index, tap_w, weight, chunk, bias=bias, relu=True)
    ref = torch.relu(_materialised_first_layer(feats, index, tap_w, weight, bias))
    assert 0 < (act == 0).float().mean() < 1 and torch.allclose(act, ref, rtol=0, atol=1e-12)
    ref_grads = torch.autograd.grad(ref, (feats, weight, bias), grad)
    for a, r in zip(torch.autograd.grad(act, (feats, weight, bias), grad), ref_grads):
        assert torch.allclose(a, r, rtol=0, atol=1e-12)
    act = taps_linear(feats.detach(), index, tap_w, fixed, chunk, bias=bias, relu=True)
    (gb,) = torch.autograd.grad(act, bias, grad)
    assert torch.allclose(gb, ref_grads[2], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match='counts'):
        taps_linear(feats, index, tap_w, weight, chunk, counts=counts)
    with pytest.raises(ValueError, match='does not fit'):
        taps_linear(feats, index, tap_w, weight[:, 1:], chunk)


@pytest.mark.parametrize('chunk', [None, 12 * 2 * 6])
def test_tiled_roi_layer_equals_the_autograd_bags(chunk):
    """The traced path (:func:`taps_linear_bags`, autograd; used under torch.compile
    and float16 autocast) gives taps_linear's values and gradients."""
    from etad_mmaction.models.utils import roi_align
    torch.manual_seed(0)
    b, n, g, s, bins, c, o, t = 3, 5, 1, 3, 6, 5, 4, 12
    feats = torch.randn(b, c, t, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(g * s, bins * c, o, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(g * s, 1, o, dtype=torch.float64, requires_grad=True)
    regions = torch.sort(torch.rand(b, n, g, 2, dtype=torch.float64) * (t + 8) - 4,
                         dim=-1).values
    index, tap_w = roi_align.interpolation_taps(regions, t, bins, 2)
    got = roi_align.taps_linear(feats, index, tap_w, weight, chunk, bias=bias)
    traced = roi_align._bags_branch_major(feats, index, tap_w, weight, bias, None, chunk)
    assert torch.allclose(got, traced, rtol=0, atol=1e-12)
    grad = torch.randn_like(got)
    for a, r in zip(torch.autograd.grad(got, (feats, weight, bias), grad),
                    torch.autograd.grad(traced, (feats, weight, bias), grad)):
        assert torch.allclose(a, r, rtol=0, atol=1e-12)


@pytest.mark.parametrize('chunk', [None, 12 * 2 * 6])
def test_tiled_roi_layer_bf16_option(chunk):
    """matmul_dtype=bfloat16 (an inexact speed option): values and both gradients
    within bf16's rounding of the float32 result, in float32 out, and really
    rounded (not silently the exact path); an unsupported dtype is refused."""
    from etad_mmaction.models.utils.roi_align import interpolation_taps, taps_linear
    torch.manual_seed(0)
    b, n, g, bins, c, o, t = 3, 9, 3, 6, 16, 24, 20
    feats = torch.randn(b, c, t, requires_grad=True)
    weight = torch.randn(g, bins * c, o, requires_grad=True)
    regions = torch.sort(torch.rand(b, n, g, 2) * (t + 8) - 4, dim=-1).values
    index, tap_w = interpolation_taps(regions, t, bins, 2)
    grad = torch.randn(g, b * n, o)
    exact = taps_linear(feats, index, tap_w, weight, chunk)
    half = taps_linear(feats, index, tap_w, weight, chunk, torch.bfloat16)
    assert half.dtype == torch.float32
    for a, r in zip((half, *torch.autograd.grad(half, (feats, weight), grad)),
                    (exact, *torch.autograd.grad(exact, (feats, weight), grad))):
        assert a.dtype == torch.float32
        rel = ((a - r).norm() / r.norm()).item()
        assert 1e-5 < rel < 2e-2, rel
    # with the bias and the ReLU (mask and bias gradient from bf16 gradients)
    bias = torch.randn(g, 1, o, requires_grad=True)
    outs = [taps_linear(feats, index, tap_w, weight, chunk, dtype, bias=bias, relu=True)
            for dtype in (torch.bfloat16, None)]
    for a, r in zip((outs[0], *torch.autograd.grad(outs[0], (feats, weight, bias), grad)),
                    (outs[1], *torch.autograd.grad(outs[1], (feats, weight, bias), grad))):
        assert a.dtype == torch.float32
        rel = ((a - r).norm() / r.norm()).item()
        assert 1e-5 < rel < 2e-2, rel
    with pytest.raises(ValueError, match='matmul_dtype'):
        taps_linear(feats, index, tap_w, weight, chunk, torch.float16)
    # bf16 autocast (--amp on the CPU) takes the same bf16 tiles, also for bf16 features
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.equal(taps_linear(feats, index, tap_w, weight, chunk), half)
        fb = feats.detach().bfloat16().requires_grad_()
        out = taps_linear(fb, index, tap_w, weight, chunk)
    gx, gw = torch.autograd.grad(out, (fb, weight), grad.bfloat16())
    assert out.dtype == gx.dtype == torch.bfloat16 and gw.dtype == torch.float32
    assert ((out.float() - exact).norm() / exact.norm()).item() < 2e-2


def test_stage_head_roi_matmul_dtype_config():
    """The head's option reaches the fused layer (predictions change a little) and
    bad values name the config key."""
    from etad_mmaction.models.roi_heads import ProposalEvaluationHead
    from etad_mmaction.models.roi_heads.temporal_roi_extractor import TemporalRoIExtractor
    torch.manual_seed(0)
    kw = dict(in_channels=16, roi_channels=8, hidden_dims=(32, 16), boundary_bins=4,
              extended_bins=8, num_groups=None)
    exact = ProposalEvaluationHead(**kw)
    half = ProposalEvaluationHead(**kw, roi_matmul_dtype='bfloat16')
    half.load_state_dict(exact.state_dict())
    extractor = TemporalRoIExtractor(extended_bins=8, boundary_bins=4)
    proposals = torch.sort(torch.rand(2, 10, 2) * 12, dim=-1).values
    taps = extractor(proposals, 12)
    x = exact.stage_features(torch.randn(2, 16, 12))
    a, r = half(x, proposals, taps), exact(x, proposals, taps)
    assert torch.allclose(a['iou_reg'], r['iou_reg'], atol=2e-2)
    assert not torch.equal(a['iou_reg'], r['iou_reg'])
    with pytest.raises(ValueError, match='stage_head.roi_matmul_dtype'):
        ProposalEvaluationHead(**kw, roi_matmul_dtype='float16')
    with pytest.raises(ValueError, match='fused_roi'):
        ProposalEvaluationHead(**kw, roi_matmul_dtype='bfloat16', fused_roi=False)


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('shared', [True, False])
def test_scoring_only_leaves_out_the_start_end_classifier_alone(fused, shared):
    """scoring_only (inference) skips the start/end classifier branch: every other
    output is the full forward's, to float rounding (fused and materialised RoI
    layers, shared or separate first extended layer), and the predictions of the
    detector equal those of a forward that runs every branch."""
    from etad_mmaction.models.roi_heads import ProposalEvaluationHead
    from etad_mmaction.models.roi_heads.temporal_roi_extractor import TemporalRoIExtractor
    torch.manual_seed(0)
    head = ProposalEvaluationHead(in_channels=16, roi_channels=8, hidden_dims=(32, 16),
                                  boundary_bins=4, extended_bins=8, num_groups=None,
                                  fused_roi=fused, shared_extended_layer=shared)
    extractor = TemporalRoIExtractor(extended_bins=8, boundary_bins=4)
    proposals = torch.sort(torch.rand(2, 10, 2) * 12, dim=-1).values
    taps = extractor(proposals, 12)
    x = head.stage_features(torch.randn(2, 16, 12))
    with torch.no_grad():
        full, part = head(x, proposals, taps), head(x, proposals, taps, scoring_only=True)
    assert set(full) - set(part) == {'start_prob', 'end_prob'}
    for key, value in part.items():
        torch.testing.assert_close(value, full[key], rtol=1e-6, atol=1e-6)
    # the detector's predictions: the same as with every branch run
    model = small_model().eval()
    feats = torch.randn(2, C, T)
    samples = make_samples()
    with torch.no_grad():
        got = model(feats, samples, mode='predict')
        stage_forward, asked = ProposalEvaluationHead.forward, []

        def every_branch(self, *args, scoring_only=False, **kwargs):
            asked.append(scoring_only)
            return stage_forward(self, *args, **kwargs)
        try:
            ProposalEvaluationHead.forward = every_branch
            ref = model(feats, samples, mode='predict')
        finally:
            ProposalEvaluationHead.forward = stage_forward
    assert asked and all(asked)          # predict asked for the scoring branches only
    for a, r in zip(got, ref):
        torch.testing.assert_close(a.pred_instances.scores, r.pred_instances.scores)
        torch.testing.assert_close(a.pred_instances.segments, r.pred_instances.segments)
