"""Detection AP / mAP exactly as the official ActivityNet evaluation computes it.

Reference: ``Evaluation/eval_detection.py`` (``compute_average_precision_detection``)
and ``Evaluation/utils.py`` (``segment_iou``, ``interpolated_prec_rec``) of
activitynet/ActivityNet. Same arithmetic (same tIoU formula, same float
thresholds from ``np.linspace``, same interpolation), vectorised:

* predictions are ranked by score descending; among equal scores the earlier
  prediction (input order) ranks first (stable sort);
* each prediction, in rank order, takes the unmatched ground truth of its video
  with the highest tIoU ``>= threshold`` (ties in tIoU: the later ground truth,
  as the official reversed ``argsort`` does), else it is a false positive.
  The sequential part only loops over the *rank of a prediction within its
  video* (all videos, thresholds and ground truths of one step at once), and
  only over predictions that reach the lowest threshold with some ground truth;
* predictions of videos without ground truth of the class are false positives.

Deliberate differences from the official script: predictions whose label has
no ground truth are ignored with one warning (the official code raises
``KeyError``), and a zero-length prediction vs zero-length ground truth gets
tIoU 0 (the official code produces NaN). What cannot be scored is an error
naming a video: NaN/Inf scores or segments, segments with start > end (ground
truth always; predictions unless ``allow_inverted``), tIoU thresholds outside
(0, 1]. Predictions of videos absent from the ground truth (e.g. another subset)
count as false positives, as in the official code, with one warning.
"""
import warnings
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from .video_ids import normalize_video_id

ANET_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
THUMOS_TIOU_THRESHOLDS = np.linspace(0.3, 0.7, 5)
PROTOCOLS = {'anet': ANET_TIOU_THRESHOLDS, 'activitynet': ANET_TIOU_THRESHOLDS,
             'thumos': THUMOS_TIOU_THRESHOLDS, 'thumos14': THUMOS_TIOU_THRESHOLDS}

#: elements of a [predictions x ground truth] tIoU block computed at once
_CHUNK_ELEMS = 1 << 21


def get_tiou_thresholds(protocol: Optional[str] = 'anet',
                        tiou_thresholds: Optional[Sequence[float]] = None) -> np.ndarray:
    """Thresholds of a protocol or a custom list.

    ``anet``: ``np.linspace(0.5, 0.95, 10)``; ``thumos``: ``np.linspace(0.3, 0.7, 5)``
    (the exact float values of the official / ActionFormer code).
    """
    if tiou_thresholds is not None:
        thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
        if thr.size == 0:
            raise ValueError('tiou_thresholds must not be empty')
        bad = [float(t) for t in thr if not (0.0 < t <= 1.0)]
        if bad:
            raise ValueError(f'tIoU thresholds must be in (0, 1], got {bad}')
        return thr
    if protocol is None or str(protocol).lower() not in PROTOCOLS:
        raise ValueError(f'unknown protocol {protocol!r}; use one of '
                         f'{sorted(PROTOCOLS)} or pass tiou_thresholds')
    return PROTOCOLS[str(protocol).lower()].copy()


def segment_iou(target_segment, candidate_segments) -> np.ndarray:
    """tIoU of one ``[2]`` segment with ``[N, 2]`` candidates (official formula; 0/0 -> 0)."""
    t = np.asarray(target_segment, dtype=np.float64).reshape(2)
    c = np.asarray(candidate_segments, dtype=np.float64).reshape(-1, 2)
    return pairwise_segment_iou(t[None], c)[0]


def pairwise_segment_iou(segs_a, segs_b) -> np.ndarray:
    """``[N, M]`` tIoU of ``segs_a [N, 2]`` (predictions) with ``segs_b [M, 2]`` (ground truth).

    Same float operations as the official ``segment_iou`` (target = row).
    """
    a = np.asarray(segs_a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(segs_b, dtype=np.float64).reshape(-1, 2)
    inter = (np.minimum(a[:, None, 1], b[None, :, 1])
             - np.maximum(a[:, None, 0], b[None, :, 0])).clip(0)
    union = (b[None, :, 1] - b[None, :, 0]) + (a[:, None, 1] - a[:, None, 0]) - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = inter / union
    return np.where(union > 0, iou, 0.0)


def interpolated_prec_rec(prec, rec) -> float:
    """Interpolated AP of the VOC 2011 devkit (as the official ``interpolated_prec_rec``)."""
    mprec = np.hstack([[0], np.asarray(prec, dtype=np.float64), [0]])
    mrec = np.hstack([[0], np.asarray(rec, dtype=np.float64), [1]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def _as_columns(table, with_scores: bool):
    """Accept ``{'video_ids', 'segments'[, 'scores']}`` and return numpy columns."""
    vids = np.asarray(table['video_ids'])
    if vids.dtype.kind not in 'iu':
        vids = np.asarray([normalize_video_id(v) for v in vids.tolist()], dtype=object)
    segs = np.asarray(table['segments'], dtype=np.float64).reshape(-1, 2)
    if len(vids) != len(segs):
        raise ValueError(f'{len(vids)} video ids but {len(segs)} segments')
    if not with_scores:
        return vids, segs
    scores = np.asarray(table['scores'], dtype=np.float64).reshape(-1)
    if len(scores) != len(segs):
        raise ValueError(f'{len(scores)} scores but {len(segs)} segments')
    return vids, segs, scores


def match_predictions(gt_videos, gt_segments, pred_videos, pred_segments,
                      tiou_thresholds) -> np.ndarray:
    """Greedy official matching of *ranked* predictions; returns true positives ``[T, M]`` bool.

    ``pred_*`` must already be in rank order. Ground-truth order within a video
    is the input order (used for tIoU ties only). Video ids may be strings or
    integer codes.
    """
    g_code, p_code = _encode_videos(gt_videos, pred_videos, normalize=True)
    return _match_codes(g_code, np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2),
                        p_code, np.asarray(pred_segments, dtype=np.float64).reshape(-1, 2),
                        np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1))


def _encode_videos(gt_videos, pred_videos, normalize: bool = False):
    """Integer codes for two sequences of video ids (optionally normalised first)."""
    gv, pv = np.asarray(gt_videos), np.asarray(pred_videos)
    if gv.dtype.kind in 'iu' and pv.dtype.kind in 'iu':
        return gv.astype(np.int64), pv.astype(np.int64)
    index: Dict[str, int] = {}
    norm = normalize_video_id if normalize else str
    codes = [index.setdefault(norm(v), len(index)) for v in gv.tolist() + pv.tolist()]
    codes = np.asarray(codes, dtype=np.int64)
    return codes[:len(gv)], codes[len(gv):]


def _match_codes(g_code, gt_segments, p_code, pseg, thr) -> np.ndarray:
    num_t, num_p, num_g = len(thr), len(p_code), len(g_code)
    tp = np.zeros((num_t, num_p), dtype=bool)
    if num_p == 0 or num_g == 0:
        return tp
    # compact codes to the videos of this call
    uniq, inv = np.unique(np.concatenate([g_code, p_code]), return_inverse=True)
    g_code, p_code = inv[:num_g], inv[num_g:]
    num_v = len(uniq)
    # ground truth padded per video: [V, Gmax, 2], input order kept within a video
    g_order = np.argsort(g_code, kind='stable')
    counts = np.bincount(g_code, minlength=num_v)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g_sorted = g_code[g_order]
    slot = np.arange(num_g) - starts[g_sorted]
    g_max = int(counts.max())
    padded = np.zeros((num_v, g_max, 2))
    valid = np.zeros((num_v, g_max), dtype=bool)
    padded[g_sorted, slot] = gt_segments[g_order]
    valid[g_sorted, slot] = True

    # tIoU rows of predictions whose video has ground truth; keep the ones that
    # can match at the lowest threshold (the others are false positives).
    cand = np.nonzero(counts[p_code] > 0)[0]
    rel_idx, rel_iou = [], []
    chunk = max(1, _CHUNK_ELEMS // g_max)
    for lo in range(0, len(cand), chunk):
        idx = cand[lo:lo + chunk]
        gs = padded[p_code[idx]]  # [c, Gmax, 2]
        ps = pseg[idx]
        inter = (np.minimum(ps[:, None, 1], gs[..., 1])
                 - np.maximum(ps[:, None, 0], gs[..., 0])).clip(0)
        union = (gs[..., 1] - gs[..., 0]) + (ps[:, None, 1] - ps[:, None, 0]) - inter
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = np.where(union > 0, inter / union, 0.0)
        iou = np.where(valid[p_code[idx]], iou, -np.inf)
        keep = (iou >= thr.min()).any(axis=1)
        rel_idx.append(idx[keep])
        rel_iou.append(iou[keep])
    if not rel_idx:
        return tp
    rel_idx = np.concatenate(rel_idx)
    rel_iou = np.concatenate(rel_iou)
    if len(rel_idx) == 0:
        return tp
    rel_code = p_code[rel_idx]
    # rank of each relevant prediction among the relevant ones of its video
    r_order = np.argsort(rel_code, kind='stable')
    r_counts = np.bincount(rel_code, minlength=num_v)
    r_starts = np.concatenate([[0], np.cumsum(r_counts)[:-1]])
    rank = np.empty(len(rel_idx), dtype=np.int64)
    rank[r_order] = np.arange(len(rel_idx)) - r_starts[rel_code[r_order]]
    by_rank = np.argsort(rank, kind='stable')
    bounds = np.concatenate([[0], np.cumsum(np.bincount(rank))])

    locked = np.zeros((num_t, num_v, g_max), dtype=bool)
    neg_inf = -np.inf
    for k in range(len(bounds) - 1):
        sel = by_rank[bounds[k]:bounds[k + 1]]  # at most one prediction per video
        vids = rel_code[sel]
        iou = rel_iou[sel]  # [S, Gmax]
        avail = (iou[None] >= thr[:, None, None]) & ~locked[:, vids]  # [T, S, Gmax]
        score = np.where(avail, iou[None], neg_inf)
        # highest tIoU; among equal tIoU the later ground truth (reversed argsort)
        j = g_max - 1 - np.argmax(score[..., ::-1], axis=-1)  # [T, S]
        hit = avail.any(axis=-1)
        t_i, s_i = np.nonzero(hit)
        locked[t_i, vids[s_i], j[t_i, s_i]] = True
        tp[t_i, rel_idx[sel[s_i]]] = True
    return tp


def average_precision_detection(ground_truth, prediction,
                                tiou_thresholds=ANET_TIOU_THRESHOLDS) -> np.ndarray:
    """AP per tIoU threshold of one class (official ``compute_average_precision_detection``).

    Args:
        ground_truth: ``{'video_ids': [N], 'segments': [N, 2]}`` of one class.
        prediction: ``{'video_ids': [M], 'segments': [M, 2], 'scores': [M]}``
            of the same class.
        tiou_thresholds: ``[T]``.

    Returns:
        ``[T]`` float64 AP. No prediction gives zeros (as the official code);
        no ground truth also gives zeros (the official code never evaluates
        such a class).
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    g_vid, g_seg = _as_columns(ground_truth, with_scores=False)
    p_vid, p_seg, p_score = _as_columns(prediction, with_scores=True)
    g_code, p_code = _encode_videos(g_vid, p_vid)
    return _ap_codes(g_code, g_seg, p_code, p_seg, p_score, thr)


def _ap_codes(g_code, g_seg, p_code, p_seg, p_score, thr) -> np.ndarray:
    ap = np.zeros(len(thr))
    if len(p_score) == 0 or len(g_code) == 0:
        return ap
    npos = float(len(g_code))
    order = np.argsort(-p_score, kind='stable')
    tp = _match_codes(g_code, g_seg, p_code[order], p_seg[order], thr).astype(np.float64)
    fp = 1.0 - tp
    tp_cumsum = np.cumsum(tp, axis=1)
    fp_cumsum = np.cumsum(fp, axis=1)
    recall_cumsum = tp_cumsum / npos
    precision_cumsum = tp_cumsum / (tp_cumsum + fp_cumsum)
    for t in range(len(thr)):
        ap[t] = interpolated_prec_rec(precision_cumsum[t], recall_cumsum[t])
    return ap


def _check_segments(vids, segs, scores, what: str, allow_inverted: bool = False) -> int:
    """Raise naming a video for NaN/Inf values or (unless ``allow_inverted``)
    start > end; returns the number of inverted segments."""
    bad = ~np.isfinite(segs).all(axis=1)
    if scores is not None:
        bad |= ~np.isfinite(scores)
    if bad.any():
        i = int(np.argmax(bad))
        extra = '' if scores is None else f', score {scores[i]}'
        raise ValueError(f'{int(bad.sum())} {what} have NaN/Inf values and cannot be '
                         f'scored, e.g. video {vids[i]!r}: segment {segs[i].tolist()}{extra}')
    inverted = segs[:, 0] > segs[:, 1]
    if inverted.any() and not allow_inverted:
        i = int(np.argmax(inverted))
        raise ValueError(f'{int(inverted.sum())} {what} have start > end, e.g. video '
                         f'{vids[i]!r}: segment {segs[i].tolist()} (columns swapped?)')
    return int(inverted.sum())


def _flatten_ground_truth(ground_truth: Dict[str, Union[dict, list]], blocked):
    """-> (video ids [N] object, segments [N, 2], labels [N] object), file order."""
    vids, segs, labels = [], [], []
    for raw_vid, v in ground_truth.items():
        vid = normalize_video_id(raw_vid)
        if vid in blocked:
            continue
        if isinstance(v, dict) and 'segments' in v:
            s = np.asarray(v['segments'], dtype=np.float64).reshape(-1, 2)
            lab = [str(x) for x in v['labels']]
        else:
            anns = v['annotations'] if isinstance(v, dict) else (v or [])
            s = np.asarray([(a['segment'][0], a['segment'][1]) if isinstance(a, dict)
                            else (a[0], a[1]) for a in anns],
                           dtype=np.float64).reshape(-1, 2)
            lab = [str(a['label'] if isinstance(a, dict) else a[2]) for a in anns]
        if len(lab) != len(s):
            raise ValueError(f'video {raw_vid!r}: {len(s)} segments but {len(lab)} labels')
        vids.extend([vid] * len(s))
        segs.append(s)
        labels.extend(lab)
    segs = np.concatenate(segs) if segs else np.zeros((0, 2))
    vids = np.asarray(vids, dtype=object)
    _check_segments(vids, segs, None, 'ground-truth segments')
    return vids, segs, np.asarray(labels, dtype=object)


def _flatten_predictions(predictions, blocked, need_label: bool = True):
    """-> (video ids, segments, scores, labels|None) in input order."""
    if isinstance(predictions, dict) and isinstance(predictions.get('results'), dict):
        predictions = predictions['results']
    vids, segs, scores, labels = [], [], [], []
    for raw_vid, preds in predictions.items():
        vid = normalize_video_id(raw_vid)
        if vid in blocked:
            continue
        if isinstance(preds, dict):  # {'segments': [K, 2], 'scores': [K], 'labels': [K]}
            s = np.asarray(preds['segments'], dtype=np.float64).reshape(-1, 2)
            c = np.asarray(preds['scores'], dtype=np.float64).reshape(-1)
            lab = list(preds['labels']) if 'labels' in preds else [None] * len(s)
        else:
            s = np.asarray([p['segment'] for p in preds], dtype=np.float64).reshape(-1, 2)
            c = np.asarray([p['score'] for p in preds], dtype=np.float64).reshape(-1)
            lab = [p.get('label') for p in preds]
        if need_label and any(x is None for x in lab):
            raise ValueError(f'video {raw_vid!r}: detection predictions need a "label"')
        vids.extend([vid] * len(s))
        segs.append(s)
        scores.append(c)
        labels.extend(lab)
    segs = np.concatenate(segs) if segs else np.zeros((0, 2))
    scores = np.concatenate(scores) if scores else np.zeros(0)
    return (np.asarray(vids, dtype=object), segs, scores,
            np.asarray([None if x is None else str(x) for x in labels], dtype=object))


def _unknown_videos(ground_truth, p_vid, blocked) -> List[str]:
    """Prediction videos that are not in the ground truth (in first-seen order)."""
    known = {normalize_video_id(v) for v in ground_truth} | set(blocked)
    return [v for v in OrderedDict.fromkeys(p_vid.tolist()) if v not in known]


def mean_average_precision(ground_truth: Dict[str, Union[dict, list]],
                           predictions: Dict[str, Union[list, dict]],
                           tiou_thresholds: Optional[Sequence[float]] = None,
                           protocol: str = 'anet',
                           blocked: Optional[Iterable[str]] = None,
                           warn: bool = True, allow_inverted: bool = False) -> dict:
    """Detection mAP over the classes that have ground truth (the official behaviour).

    Args:
        ground_truth: ``{vid: {'segments', 'labels', ...}}`` (see
            :func:`load_ground_truth`) or ``{vid: [[start, end, label], ...]}``.
        predictions: ``{vid: [{'label', 'score', 'segment'}]}`` (or a whole
            submission with ``results``).
        tiou_thresholds: custom thresholds; default from ``protocol``.
        protocol: ``'anet'`` or ``'thumos'``.
        blocked: video ids removed from ground truth and predictions.
        warn: emit the warnings below (``False``: only count them).
        allow_inverted: score predictions with start > end (as false
            positives) instead of raising; for raw model output.

    Returns:
        dict with ``tiou_thresholds`` [T], ``classes`` (gt labels in order of
        first appearance), ``ap`` [T, C], ``mAP`` [T], ``average_mAP`` (float),
        ``num_ignored`` (predictions with labels absent from the ground
        truth: ignored with one warning), ``num_unknown_video_predictions`` /
        ``unknown_videos`` (predictions of videos absent from the ground truth:
        false positives, one warning) and ``num_inverted``. A class without
        predictions has AP 0; a class without ground truth is not part of the
        mean.

    Raises:
        ValueError: NaN/Inf scores or segments, ground truth with start > end,
            predictions with start > end (unless ``allow_inverted``), tIoU
            thresholds outside (0, 1]; the message names a video.
    """
    thr = get_tiou_thresholds(protocol, tiou_thresholds)
    blocked = {normalize_video_id(v) for v in (blocked or ())}
    g_vid, g_seg, g_lab = _flatten_ground_truth(ground_truth, blocked)
    p_vid, p_seg, p_score, p_lab = _flatten_predictions(predictions, blocked)
    if len(g_vid) == 0:
        raise ValueError('no ground-truth instances to evaluate against')
    num_inverted = _check_segments(p_vid, p_seg, p_score, 'predictions', allow_inverted)
    unknown = _unknown_videos(ground_truth, p_vid, blocked)
    num_unknown = int(np.isin(p_vid, np.asarray(unknown, dtype=object)).sum()) if unknown else 0
    if unknown and warn:
        warnings.warn(f'{num_unknown} predictions of {len(unknown)} video(s) absent from the '
                      f'ground truth (another subset?) count as false positives, e.g. '
                      f'{unknown[:5]}', stacklevel=2)
    classes: List[str] = list(OrderedDict.fromkeys(g_lab.tolist()))
    class_index = {c: i for i, c in enumerate(classes)}
    g_cls = np.asarray([class_index[c] for c in g_lab.tolist()], dtype=np.int64)
    p_cls = np.asarray([class_index.get(c, -1) for c in p_lab.tolist()], dtype=np.int64)
    known = p_cls >= 0
    num_ignored = int((~known).sum())
    if num_ignored and warn:
        absent = sorted({str(x) for x in p_lab[~known].tolist()})
        warnings.warn(f'{num_ignored} predictions of {len(absent)} label(s) absent from '
                      f'the ground truth are ignored, e.g. {absent[:5]}', stacklevel=2)
    g_code, p_code = _encode_videos(g_vid, p_vid)
    # group by class, keeping input order inside a class (stable sort)
    g_groups = _split_by(g_cls, len(classes))
    p_groups = _split_by(p_cls, len(classes))
    ap = np.zeros((len(thr), len(classes)))
    for c in range(len(classes)):
        gi, pi = g_groups[c], p_groups[c]
        ap[:, c] = _ap_codes(g_code[gi], g_seg[gi], p_code[pi], p_seg[pi], p_score[pi], thr)
    m_ap = ap.mean(axis=1)
    return dict(tiou_thresholds=thr, classes=classes, ap=ap, mAP=m_ap,
                average_mAP=float(m_ap.mean()), num_ignored=num_ignored,
                num_unknown_video_predictions=num_unknown, unknown_videos=unknown,
                num_inverted=num_inverted)


def _split_by(keys: np.ndarray, num: int) -> List[np.ndarray]:
    """Indices of ``keys == k`` for ``k in range(num)`` (input order kept; negatives dropped)."""
    order = np.argsort(keys, kind='stable')
    counts = np.bincount(keys[keys >= 0], minlength=num)
    start = int((keys < 0).sum())
    bounds = start + np.concatenate([[0], np.cumsum(counts)])
    return [order[bounds[k]:bounds[k + 1]] for k in range(num)]


def tiou_key(prefix: str, thr: float) -> str:
    """``'mAP@0.50'``-style key."""
    return f'{prefix}@{thr:.2f}'


def map_summary(result: dict) -> Dict[str, float]:
    """Flatten a :func:`mean_average_precision` result to ``{'mAP@0.50': ..., 'avg_mAP': ...}``."""
    out = OrderedDict((tiou_key('mAP', t), float(m))
                      for t, m in zip(result['tiou_thresholds'], result['mAP']))
    out['avg_mAP'] = float(result['average_mAP'])
    return out
