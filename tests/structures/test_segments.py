"""tIoU, NMS and Soft-NMS against hand-worked cases, and their invariants."""
import math

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
