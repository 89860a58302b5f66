"""Average recall vs average number of proposals per video (AR@AN), vectorised.

Follows ``average_recall_vs_avg_nr_proposals`` of the official ActivityNet
``Evaluation/eval_proposal.py`` (also used by MMAction2's ``ANetMetric``):

* videos = those with at least one ground-truth instance;
* ``ratio = max_avg_proposals * num_videos / total_proposals`` where
  ``total_proposals`` counts every (non-blocked) proposal of the input, and
  each video keeps its ``min(int(n * ratio), n)`` best-scored proposals
  (score descending, earlier first among ties);
* for 100 fractions ``f`` of the retrieved proposals, a ground truth is
  recalled at tIoU ``t`` when one of the first ``int(n_kept * f)`` proposals of
  its video has tIoU ``>= t``; recall is averaged over the thresholds.

``AUC`` is returned as a fraction (area under the AR-AN curve divided by the
largest AN); MMAction2 reports ``100 *`` this value.
"""
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from .detection import (ANET_TIOU_THRESHOLDS, _CHUNK_ELEMS, _check_segments,
                        _flatten_ground_truth, _flatten_predictions, get_tiou_thresholds)
from .video_ids import normalize_video_id

_trapezoid = getattr(np, 'trapezoid', None) or getattr(np, 'trapz')


def average_recall_at_avg_proposals(ground_truth: Dict[str, dict],
                                    proposals: Dict[str, list],
                                    max_avg_proposals: Optional[float] = 100,
                                    tiou_thresholds: Sequence[float] = ANET_TIOU_THRESHOLDS,
                                    blocked: Optional[Iterable[str]] = None,
                                    ar_at: Sequence[int] = (1, 5, 10, 100)) -> dict:
    """AR@AN of class-agnostic proposals.

    Args:
        ground_truth: ``{vid: {'segments', 'labels'}}`` or ``{vid: [[s, e, label]]}``
            (labels are ignored).
        proposals: ``{vid: [{'score', 'segment'}]}`` or ``{vid: {'segments', 'scores'}}``.
        max_avg_proposals: largest average number of proposals per video
            (``None``: total proposals / videos, as the official default).
        tiou_thresholds: ``[T]``.
        blocked: video ids to drop.
        ar_at: AN values reported as ``AR@k`` (only those within the AN range).

    Returns:
        dict with ``recall`` [T, 100], ``avg_recall`` [100],
        ``proposals_per_video`` [100], ``AUC`` and ``AR@k`` floats.
    """
    thr = get_tiou_thresholds(None, tiou_thresholds)
    blocked = {normalize_video_id(v) for v in (blocked or ())}
    g_vid, g_seg, _ = _flatten_ground_truth(ground_truth, blocked)
    p_vid, p_seg, p_score, _ = _flatten_predictions(proposals, blocked, need_label=False)
    # inverted proposals recall nothing (tIoU 0); NaN/Inf cannot be ranked
    _check_segments(p_vid, p_seg, p_score, 'proposals', allow_inverted=True)
    if len(g_vid) == 0:
        raise ValueError('no ground-truth instances to evaluate against')
    videos = list(OrderedDict.fromkeys(g_vid.tolist()))
    num_v = len(videos)
    index = {v: i for i, v in enumerate(videos)}
    g_code = np.asarray([index[v] for v in g_vid], dtype=np.int64)
    total = len(p_score)
    if not max_avg_proposals:
        max_avg_proposals = float(total) / num_v
    fractions = np.arange(1, 101) / 100.0
    empty = dict(recall=np.zeros((len(thr), 100)), avg_recall=np.zeros(100),
                 proposals_per_video=fractions * max_avg_proposals)
    if total == 0:
        return _finish(empty, ar_at)
    ratio = max_avg_proposals * float(num_v) / total

    # proposals of evaluated videos, ranked per video (score desc, stable)
    p_code = np.asarray([index.get(v, -1) for v in p_vid], dtype=np.int64)
    m = p_code >= 0
    p_code, p_seg, p_score = p_code[m], p_seg[m], p_score[m]
    order = np.lexsort((np.arange(len(p_score)), -p_score, p_code))
    p_code, p_seg = p_code[order], p_seg[order]
    n_prop = np.bincount(p_code, minlength=num_v)
    starts = np.concatenate([[0], np.cumsum(n_prop)[:-1]])
    slot = np.arange(len(p_code)) - starts[p_code]
    n_kept = np.minimum((n_prop * ratio).astype(np.int64), n_prop)
    total_kept = int(n_kept.sum())
    if total_kept == 0:
        return _finish(empty, ar_at)
    keep = slot < n_kept[p_code]
    p_code, p_seg, slot = p_code[keep], p_seg[keep], slot[keep]
    p_max = max(int(n_kept.max()), 1)
    padded = np.zeros((num_v, p_max, 2))
    padded[p_code, slot] = p_seg
    # videos without retrieved proposals behave as one proposal of tIoU 0
    n_cols = np.where(n_prop > 0, n_kept, 1)
    col_valid = np.arange(p_max)[None, :] < n_cols[:, None]  # [V, Pmax]

    # first rank (0-based) at which each ground truth is recalled, per threshold
    first_hit = np.empty((len(thr), len(g_code)), dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMS // p_max)
    for lo in range(0, len(g_code), chunk):
        gc = g_code[lo:lo + chunk]
        gs = g_seg[lo:lo + chunk]
        ps = padded[gc]  # [c, Pmax, 2]
        inter = (np.minimum(ps[..., 1], gs[:, None, 1])
                 - np.maximum(ps[..., 0], gs[:, None, 0])).clip(0)
        union = (ps[..., 1] - ps[..., 0]) + (gs[:, None, 1] - gs[:, None, 0]) - inter
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = np.where(union > 0, inter / union, 0.0)
        iou = np.where(col_valid[gc] & (n_prop[gc] > 0)[:, None], iou, 0.0)
        hit = (iou[None] >= thr[:, None, None]) & col_valid[gc][None]  # [T, c, Pmax]
        first_hit[:, lo:lo + chunk] = np.where(hit.any(-1), hit.argmax(-1), np.iinfo(np.int64).max)

    pcn = fractions * (max_avg_proposals * float(num_v) / total_kept)
    # proposals looked at per video and fraction: [V, 100]
    n_at = np.minimum((n_cols[:, None] * pcn[None, :]).astype(np.int64), n_cols[:, None])
    matches = (first_hit[:, :, None] < n_at[g_code][None]).sum(axis=1)  # [T, 100]
    recall = matches / float(len(g_code))
    avg_recall = recall.mean(axis=0)
    proposals_per_video = pcn * (float(total_kept) / num_v)
    return _finish(dict(recall=recall, avg_recall=avg_recall,
                        proposals_per_video=proposals_per_video), ar_at)


def _finish(res: dict, ar_at) -> dict:
    ppv, ar = res['proposals_per_video'], res['avg_recall']
    res['AUC'] = float(_trapezoid(ar, ppv) / ppv[-1])
    for k in ar_at:  # exact grid point when there is one, else linear interpolation
        i = int(np.argmin(np.abs(ppv - k)))
        if abs(ppv[i] - k) <= 1e-6 * max(1.0, k):
            res[f'AR@{k}'] = float(ar[i])
        elif ppv[0] <= k <= ppv[-1]:
            res[f'AR@{k}'] = float(np.interp(k, ppv, ar))
    return res
