"""Temporal IoU and (Soft-)NMS on ``[N, 2]`` segments ``(start, end)``.

All functions accept ``torch.Tensor`` inputs on any device and never loop over
pairs in Python; Soft-NMS loops over the *kept* segments only (at most
``top_k``), each iteration a vector operation.
"""
from typing import Tuple

import torch
from torch import Tensor


def pairwise_tiou(segs_a: Tensor, segs_b: Tensor) -> Tensor:
    """Temporal IoU of every segment in ``segs_a`` [..., N, 2] with every one in
    ``segs_b`` [..., M, 2] (leading dims broadcast, e.g. one batch of videos).

    Returns ``[..., N, M]``. Zero-length unions give IoU 0.
    """
    a_s, a_e = segs_a[..., 0:1], segs_a[..., 1:2]
    b_s, b_e = segs_b[..., None, :, 0], segs_b[..., None, :, 1]
    inter = (torch.minimum(a_e, b_e) - torch.maximum(a_s, b_s)).clamp(min=0)
    union = (a_e - a_s) + (b_e - b_s) - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny
                                                     if union.is_floating_point() else 1),
                       torch.zeros_like(inter))


def segment_tiou(segment: Tensor, segments: Tensor) -> Tensor:
    """IoU of one segment ``[2]`` with each of ``segments`` ``[N, 2]``; returns ``[N]``."""
    return pairwise_tiou(segment.reshape(1, 2), segments)[0]


def segment_nms(segments: Tensor, scores: Tensor, iou_threshold: float,
                top_k: int = -1) -> Tuple[Tensor, Tensor]:
    """Greedy hard NMS. Returns ``(kept_segments [K, 2], kept_scores [K])`` by descending score.

    Among equal scores the earlier segment is kept first (stable sort).
    """
    order = torch.sort(scores, descending=True, stable=True).indices
    segments, scores = segments[order], scores[order]
    ious = pairwise_tiou(segments, segments)
    n = segments.shape[0]
    suppressed = torch.zeros(n, dtype=torch.bool, device=segments.device)
    keep = []
    limit = n if top_k is None or top_k < 0 else min(top_k, n)
    for i in range(n):
        if len(keep) >= limit:
            break
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= ious[i] > iou_threshold
    idx = torch.as_tensor(keep, dtype=torch.long, device=segments.device)
    return segments[idx], scores[idx]


def segment_soft_nms(segments: Tensor, scores: Tensor, alpha: float = 0.4,
                     low_threshold: float = 0.5, high_threshold: float = 0.9,
                     top_k: int = 100, relative_to_duration: bool = False,
                     duration: float = 1.0) -> Tuple[Tensor, Tensor]:
    """Gaussian Soft-NMS in the BMN form (Lin et al., 2019b; ETAD App. B.2).

    At each step the highest-scoring remaining segment is kept; every other
    remaining segment whose IoU with it exceeds a threshold has its score
    multiplied by ``exp(-iou^2 / alpha)``. The threshold is ``low_threshold +
    (high_threshold - low_threshold) * length`` of the kept segment, with the
    length relative to ``duration`` (BMN uses normalised [0, 1] segments, so
    pass ``duration`` when segments are in seconds).

    Returns ``(segments [K, 2], scores [K])`` with ``K <= top_k`` in keep order.
    """
    segments = segments.clone()
    scores = scores.clone().to(torch.float64 if scores.dtype == torch.float64 else torch.float32)
    n = segments.shape[0]
    k = n if top_k is None or top_k < 0 else min(top_k, n)
    alive = torch.ones(n, dtype=torch.bool, device=segments.device)
    kept_idx, kept_scores = [], []
    neg_inf = torch.tensor(float('-inf'), dtype=scores.dtype, device=scores.device)
    for _ in range(k):
        masked = torch.where(alive, scores, neg_inf)
        # argmax returns the first maximal index: earlier segment wins ties.
        i = int(torch.argmax(masked))
        if not bool(alive[i]):
            break
        kept_idx.append(i)
        kept_scores.append(scores[i].clone())
        alive[i] = False
        ious = segment_tiou(segments[i], segments)
        length = (segments[i, 1] - segments[i, 0]) / duration
        thr = low_threshold + (high_threshold - low_threshold) * length
        decay = torch.where(alive & (ious > thr), torch.exp(-ious.square() / alpha),
                            torch.ones_like(ious))
        scores = scores * decay.to(scores.dtype)
    if not kept_idx:
        return segments[:0], scores[:0]
    idx = torch.as_tensor(kept_idx, dtype=torch.long, device=segments.device)
    return segments[idx], torch.stack(kept_scores)


def batched_segment_soft_nms(segments: Tensor, scores: Tensor, valid: Tensor,
                             alpha: float = 0.4, low_threshold: float = 0.5,
                             high_threshold: float = 0.9, top_k: int = 100,
                             relative_to_duration: bool = False,
                             duration: float = 1.0) -> Tuple[Tensor, Tensor, Tensor]:
    """:func:`segment_soft_nms` of ``B`` videos at once: each step keeps every
    video's best remaining candidate and decays its overlaps, as one set of batched
    operations (at most ``top_k`` steps for the batch, no host synchronisation).

    ``segments [B, M, 2]``, ``scores [B, M]``, ``valid [B, M]`` (candidates; the
    others, e.g. padding, never count). Returns ``(segments [B, K, 2], scores
    [B, K], kept [B, K])``: video ``b``'s result is ``segments[b][kept[b]]``, equal
    to :func:`segment_soft_nms` of its valid candidates in their order (the same
    operations element by element: the same values and ties).
    """
    work = torch.float64 if scores.dtype == torch.float64 else torch.float32
    scores = scores.to(work).clone()
    b, m = scores.shape
    k = m if top_k is None or top_k < 0 else min(top_k, m)
    alive = valid.clone()
    neg_inf = torch.tensor(float('-inf'), dtype=work, device=scores.device)
    idx = torch.zeros(b, k, dtype=torch.long, device=scores.device)
    kept_scores = scores.new_zeros(b, k)
    kept = torch.zeros(b, k, dtype=torch.bool, device=scores.device)
    for step in range(k):
        i = torch.argmax(torch.where(alive, scores, neg_inf), dim=1, keepdim=True)  # [B, 1]
        ok = alive.gather(1, i)                  # False once a video has none left
        idx[:, step:step + 1] = i
        kept_scores[:, step:step + 1] = scores.gather(1, i)
        kept[:, step:step + 1] = ok
        alive.scatter_(1, i, False)
        seg = segments.gather(1, i.unsqueeze(-1).expand(-1, 1, 2))            # [B, 1, 2]
        ious = pairwise_tiou(seg, segments)[:, 0]                              # [B, M]
        length = (seg[:, :, 1] - seg[:, :, 0]) / duration
        thr = low_threshold + (high_threshold - low_threshold) * length
        decay = torch.where(alive & (ious > thr), torch.exp(-ious.square() / alpha),
                            torch.ones_like(ious))
        scores = scores * decay.to(work)
    # a video that ran out keeps nothing after that step (its later picks are not kept)
    kept = kept.cumprod(dim=1).bool()
    return segments.gather(1, idx.unsqueeze(-1).expand(-1, -1, 2)), kept_scores, kept


def segment_gaussian_soft_nms(segments: Tensor, scores: Tensor, sigma: float = 0.35,
                              iou_threshold: float = 0.0, top_k: int = 100,
                              keep_last: bool = True) -> Tuple[Tensor, Tensor]:
    """Gaussian Soft-NMS with a fixed threshold (the authors' released ETAD code).

    Candidates are ordered by descending score (stable); at each step the
    highest-scoring remaining one is kept (the first on ties) and every
    remaining one whose IoU with it exceeds ``iou_threshold`` is multiplied by
    ``exp(-iou^2 / sigma)``. The IoU uses the signed intersection (disjoint
    segments have IoU <= 0). ``keep_last=False`` stops when one candidate is
    left, as the authors' loop does (it never keeps the last one).

    Returns ``(segments [K, 2], scores [K])`` with ``K <= top_k`` in keep order.
    """
    order = torch.sort(scores, descending=True, stable=True).indices
    segments = segments[order]
    scores = scores[order].to(torch.float64)
    seg64 = segments.to(torch.float64)
    n = segments.shape[0]
    limit = n if top_k is None or top_k < 0 else min(top_k, n)
    if not keep_last and n > 1:          # (a single candidate is kept: no NMS runs)
        limit = min(limit, n - 1)
    alive = torch.ones(n, dtype=torch.bool, device=segments.device)
    kept_idx, kept_scores = [], []
    neg_inf = torch.tensor(float('-inf'), dtype=scores.dtype, device=scores.device)
    width = seg64[:, 1] - seg64[:, 0]
    for _ in range(limit):
        i = int(torch.argmax(torch.where(alive, scores, neg_inf)))
        kept_idx.append(i)
        kept_scores.append(scores[i].clone())
        alive[i] = False
        inter = (torch.minimum(seg64[i, 1], seg64[:, 1])
                 - torch.maximum(seg64[i, 0], seg64[:, 0]))
        iou = inter / (width[i] + width - inter)
        decay = torch.where(alive & (iou > iou_threshold), torch.exp(-iou.square() / sigma),
                            torch.ones_like(iou))
        scores = scores * decay
    if not kept_idx:
        return segments[:0], scores[:0]
    idx = torch.as_tensor(kept_idx, dtype=torch.long, device=segments.device)
    return segments[idx], torch.stack(kept_scores)
