"""tIoU, NMS and Soft-NMS against hand-worked cases, and their invariants."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from etad_mmaction.structures import pairwise_tiou, segment_nms, segment_soft_nms


def test_tiou_hand_cases():
    a = torch.tensor([[0.0, 10.0], [5.0, 6.0]])
    b = torch.tensor([[5.0, 15.0], [20.0, 30.0], [0.0, 10.0]])
    expect = torch.tensor([[5 / 15, 0.0, 1.0], [0.1, 0.0, 0.1]])
    assert torch.allclose(pairwise_tiou(a, b), expect)


def test_soft_nms_hand_case():
    segs = torch.tensor([[0.0, 0.5], [0.0, 0.45], [0.6, 0.9]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    kept, s = segment_soft_nms(segs, scores, alpha=0.4, low_threshold=0.5, high_threshold=0.9,
                               top_k=3)
    # first kept (0, 0.5): threshold 0.5 + 0.4 * 0.5 = 0.7; IoU with (0, 0.45) = 0.9 > 0.7
    decayed = 0.8 * math.exp(-0.81 / 0.4)
    assert torch.allclose(kept, torch.tensor([[0.0, 0.5], [0.6, 0.9], [0.0, 0.45]]))
    assert torch.allclose(s, torch.tensor([0.9, 0.7, decayed]), atol=1e-6)


def test_hard_nms_and_ties():
    segs = torch.tensor([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0]])
    kept, s = segment_nms(segs, torch.tensor([0.5, 0.5, 0.4]), iou_threshold=0.5)
    assert kept.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert torch.allclose(s, torch.tensor([0.5, 0.4]))


segment_lists = st.lists(st.tuples(st.floats(0, 100), st.floats(0.01, 50), st.floats(0, 1)),
                         min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(segment_lists)
def test_tiou_properties(items):
    segs = torch.tensor([[s, s + d] for s, d, _ in items], dtype=torch.float64)
    iou = pairwise_tiou(segs, segs)
    assert bool(((iou >= 0) & (iou <= 1 + 1e-12)).all())
    assert torch.allclose(iou, iou.t())
    assert torch.allclose(torch.diagonal(iou), torch.ones(len(items), dtype=torch.float64))


@settings(max_examples=60, deadline=None)
@given(segment_lists, st.integers(1, 10))
def test_nms_properties(items, top_k):
    segs = torch.tensor([[s, s + d] for s, d, _ in items], dtype=torch.float64)
    scores = torch.tensor([c for *_, c in items], dtype=torch.float64)
    kept, ks = segment_nms(segs, scores, 0.5, top_k=top_k)
    assert len(kept) <= min(top_k, len(items))
    assert bool((ks[:-1] >= ks[1:]).all())
    if len(kept) > 1:
        iou = pairwise_tiou(kept, kept)
        assert bool((iou.triu(1) <= 0.5).all())
    soft, ss = segment_soft_nms(segs, scores, top_k=top_k)
    assert len(soft) == min(top_k, len(items))
    assert bool((ss <= scores.max() + 1e-12).all()) and bool((ss >= 0).all())


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_batched_soft_nms_equals_one_video_at_a_time(dtype):
    """batched_segment_soft_nms == segment_soft_nms per video, exactly (values, order,
    ties), with videos of different candidate counts (none, fewer than top_k, more),
    duplicated segments and tied scores; and select_and_suppress (batched) equals its
    per-video definition."""
    from etad_mmaction.models.utils import select_and_suppress
    from etad_mmaction.structures import batched_segment_soft_nms, segment_soft_nms
    g = torch.Generator().manual_seed(0)
    b, m = 5, 40
    segs = torch.sort(torch.rand(b, m, 2, generator=g, dtype=dtype), dim=-1).values
    segs[1, 5] = segs[1, 3]                                   # duplicate segment
    scores = torch.rand(b, m, generator=g, dtype=dtype)
    scores[2, 7] = scores[2, 9]                               # tied scores
    valid = torch.rand(b, m, generator=g) < 0.7
    valid[0] = False                                          # a video with no candidate
    valid[3, 4:], valid[3, :4] = False, True                  # fewer than top_k
    cfg = dict(alpha=0.4, low_threshold=0.5, high_threshold=0.9, top_k=12)
    out_segs, out_scores, kept = batched_segment_soft_nms(segs, scores, valid, **cfg)
    for i in range(b):
        ref_segs, ref_scores = segment_soft_nms(segs[i][valid[i]], scores[i][valid[i]], **cfg)
        assert torch.equal(out_segs[i][kept[i]], ref_segs)
        assert torch.equal(out_scores[i][kept[i]], ref_scores)
        assert ref_scores.dtype == out_scores.dtype
    assert kept[0].sum() == 0 and kept[3].sum() == 4 and kept[1].sum() == 12
    # select_and_suppress: pre_top_k and clipping per video, then the batched Soft-NMS
    t = 16
    snippets = segs * 20 - 2                                  # past both ends: clipped
    nms = dict(type='soft_nms', pre_top_k=10, **cfg)
    got = select_and_suppress(snippets, scores, valid, t, nms)
    for i, (seg, sc) in enumerate(got):
        s, c = snippets[i][valid[i]], scores[i][valid[i]]
        if c.numel() > 10:
            top = torch.topk(c, 10, sorted=False).indices.sort().values
            s, c = s[top], c[top]
        ref_s, ref_c = segment_soft_nms(s.clamp(0, t) / t, c, **cfg)
        assert torch.equal(seg, ref_s * t) and torch.equal(sc, ref_c)


def test_select_and_suppress_of_an_empty_batch_is_empty():
    from etad_mmaction.models.utils.post_processing import select_and_suppress
    for kind in ('soft_nms', 'gaussian_soft_nms', 'nms'):
        out = select_and_suppress(torch.zeros(0, 5, 2), torch.zeros(0, 5),
                                  torch.zeros(0, 5, dtype=torch.bool), 16, dict(type=kind))
        assert out == []
