"""Inference post-processing of ETAD (Appendix B.2)."""
from typing import List, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from etad_mmaction.structures import (batched_segment_soft_nms, segment_gaussian_soft_nms,
                                      segment_nms)


def boundary_selection_mask(probs: Tensor, peak_ratio: float = 0.5, keep_first: bool = False,
                            keep_last: bool = False, edge_peaks: bool = False) -> Tensor:
    """BMN's boundary selection (Lin et al., 2019b): a snippet is a candidate when
    its probability is a local peak or above ``peak_ratio`` times the video's max.

    ``probs [B, T]`` -> bool ``[B, T]``. ``keep_first`` / ``keep_last`` always keep
    the first (starts) / last (ends) snippet, as BMN does. ``edge_peaks``: the
    first and last snippets are peaks too when above their one neighbour (the
    curve padded with zeros, as the authors' code does).
    """
    mx = probs.max(dim=1, keepdim=True).values
    mask = probs > peak_ratio * mx
    # padding with 0 lets the ends be peaks; with +inf they never are
    padded = torch.nn.functional.pad(probs, (1, 1), value=0.0 if edge_peaks else float('inf'))
    mask |= (probs > padded[:, :-2]) & (probs > padded[:, 2:])
    if keep_first:
        mask[:, 0] = True
    if keep_last:
        mask[:, -1] = True
    return mask


def select_and_suppress(segments: Tensor, scores: Tensor, valid: Tensor, num_snippets: int,
                        nms_cfg: dict) -> List[Tuple[Tensor, Tensor]]:
    """Per video: keep ``valid`` candidates, run Soft-NMS (or NMS) on segments
    normalised by ``num_snippets`` and return ``(segments, scores)`` in snippet units.

    ``nms_cfg``: ``type`` ``'soft_nms'`` (BMN form: ``alpha``, ``low_threshold``,
    ``high_threshold``, ``top_k``), ``'gaussian_soft_nms'`` (the authors' code:
    ``sigma``, ``iou_threshold``, ``top_k``, ``keep_last``) or ``'nms'``
    (``iou_threshold``, ``top_k``); ``pre_top_k`` caps the candidates fed to NMS
    (by score); ``clip_to_video`` (default True) clips segments to ``[0, T]``
    before NMS (the authors clip after it).
    """
    if segments.shape[0] == 0:
        return []
    cfg = dict(nms_cfg)
    kind = cfg.pop('type', 'soft_nms')
    pre_top_k = cfg.pop('pre_top_k', -1)
    clip = cfg.pop('clip_to_video', True)
    if kind not in ('soft_nms', 'gaussian_soft_nms', 'nms'):
        raise ValueError("test_cfg.nms.type must be 'soft_nms', 'gaussian_soft_nms' or "
                         f"'nms', got {kind!r}")
    candidates = []
    for seg, sc, ok in zip(segments, scores, valid):
        seg, sc = seg[ok], sc[ok]
        if pre_top_k and 0 < pre_top_k < sc.numel():
            top = torch.topk(sc, pre_top_k, sorted=False).indices.sort().values
            seg, sc = seg[top], sc[top]
        candidates.append(((seg.clamp(0, num_snippets) if clip else seg) / num_snippets, sc))
    if kind == 'soft_nms':     # all videos at once, each step one batched operation
        most = max(1, max(sc.numel() for _, sc in candidates))
        segs = segments.new_zeros(len(candidates), most, 2)
        scs = scores.new_zeros(len(candidates), most)
        ok = torch.zeros(len(candidates), most, dtype=torch.bool, device=scores.device)
        for i, (seg, sc) in enumerate(candidates):
            segs[i, :sc.numel()], scs[i, :sc.numel()], ok[i, :sc.numel()] = seg, sc, True
        segs, scs, kept = batched_segment_soft_nms(segs, scs, ok, **cfg)
        return [(seg[k] * num_snippets, sc[k]) for seg, sc, k in zip(segs, scs, kept)]
    results = []
    for seg, sc in candidates:
        if kind == 'gaussian_soft_nms':          # a loop of ~100 steps: on the host
            device = seg.device
            seg, sc = segment_gaussian_soft_nms(seg.cpu(), sc.cpu(), **cfg)
            seg, sc = seg.to(device), sc.to(device)
        else:
            seg, sc = segment_nms(seg, sc, **cfg)
        results.append((seg * num_snippets, sc))
    return results


def to_video_time(segments: Tensor, scores: Tensor, metainfo: dict) -> InstanceData:
    """Detections of one sample in snippet units -> ``pred_instances`` in seconds
    (``t = window_start + u * snippet_seconds``, clipped to ``[0, duration]``)."""
    sps = float(metainfo.get('snippet_seconds', 1.0))
    start = float(metainfo.get('window_start', 0.0))
    seconds = segments * sps + start
    if 'duration' in metainfo:
        seconds = seconds.clamp(0, float(metainfo['duration']))
    pred = InstanceData()
    pred.segments = seconds.cpu()
    pred.scores = scores.cpu()
    return pred
