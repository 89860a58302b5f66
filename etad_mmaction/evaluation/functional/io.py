"""Reading ground truth / predictions / block lists and writing submissions.

Ground truth (any format of :mod:`.annotation_files`) is returned as an ordered ``dict``
(file order) mapping the normalised video id to::

    {'duration': float | None, 'subset': str | None,
     'segments': float64 ndarray [N, 2] (seconds), 'labels': list[str] (N)}

exactly as written: a segment with NaN/Inf or start > end is an error, nothing is
repaired. Predictions use the ActivityNet submission format ``{"version", "results":
{vid: [{"label", "score", "segment"}]}, "external_data"}`` and are returned as an
ordered ``dict`` vid -> list of ``{"label", "score", "segment"}`` (``label`` may be
missing for proposals).
"""
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Set

import numpy as np

from .annotation_files import (GT_FORMATS, detect_format, iter_videos, parse_segments,  # noqa
                               read_json, read_subset_csv, video_duration)
from .video_ids import normalize_video_id



def load_json(path: str):
    """``json.load`` of a file; invalid JSON raises a ``ValueError`` naming it."""
    return read_json(path)


def detect_ground_truth_format(data, path: str = '<ground truth>') -> str:
    """Return ``'activitynet'``, ``'thumos'`` or ``'anet_anno'`` for loaded json ``data``."""
    return detect_format(data, path)


def load_video_subsets(path: str) -> Dict[str, str]:
    """Read ``video -> subset`` from a csv with ``video`` and ``subset`` columns."""
    return {normalize_video_id(v): s for v, s in read_subset_csv(path).items()}


def load_blocked(path: Optional[str]) -> Set[str]:
    """Read a json list of video ids to exclude; ``None`` gives an empty set."""
    if path is None:
        return set()
    data = read_json(path)
    if isinstance(data, dict):  # tolerate {"blocked": [...]}-style wrappers
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise ValueError(f'{path}: blocked videos must be a JSON list of ids')
    return {normalize_video_id(v) for v in data}


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _late_annotations(segs: np.ndarray, duration) -> List[int]:
    """Indices of ground truth that starts after the video ends (e.g. 30 in the
    THUMOS-14 files). They are kept: no prediction can match them, so they count as
    missed ground truth, as in the official scoring."""
    if duration is None or not len(segs):
        return []
    return np.nonzero(segs[:, 0] > float(duration))[0].tolist()


def _warn_late(path: str, late: List[tuple]) -> None:
    """One warning for all the annotations that start after their video ends."""
    if late:
        first = ', '.join(f'{v!r} annotation {i}' for v, i in late[:5])
        warnings.warn(f'{path}: {len(late)} ground-truth annotation(s) start after '
                      f'their video ends (e.g. {first}{", ..." if len(late) > 5 else ""});'
                      ' they are kept and count as missed ground truth')


def _add_video(out, vid, duration, subset, segs, labels):
    if vid in out:  # the same video listed with and without ``v_``
        prev = out[vid]
        prev['segments'] = np.concatenate([prev['segments'], segs])
        prev['labels'] = prev['labels'] + labels
    else:
        out[vid] = dict(duration=duration, subset=subset, segments=segs, labels=labels)


def load_ground_truth(path: str, subset: Optional[str] = None,
                      video_info_file: Optional[str] = None,
                      blocked: Optional[Iterable[str]] = None,
                      return_format: bool = False):
    """Load ground truth in any supported format (auto-detected).

    Args:
        path: json file.
        subset: keep only videos of this subset (names as in the file,
            e.g. ``validation`` or ``Test``); ``None`` keeps all.
        video_info_file: csv with ``video,subset`` for the ``anet_anno``
            format. When ``None`` and ``subset`` is given, a
            ``video_info_new.csv`` next to ``path`` is used if present;
            otherwise all videos are kept (with a warning).
        blocked: video ids to drop.
        return_format: also return the detected format name.

    Returns:
        ``dict`` vid -> ``{'duration', 'subset', 'segments', 'labels'}``
        (and the format name when ``return_format``).
    """
    data = read_json(path)
    fmt = detect_format(data, path)
    blocked = {normalize_video_id(v) for v in (blocked or ())}
    out: Dict[str, dict] = OrderedDict()
    subsets = None
    if fmt == 'anet_anno':
        if video_info_file is None and subset is not None:
            cand = osp.join(osp.dirname(osp.abspath(path)), 'video_info_new.csv')
            if osp.isfile(cand):
                video_info_file = cand
            else:
                warnings.warn(f'{path}: anet_anno format has no subsets and no '
                              f'video_info csv was given; subset {subset!r} ignored, '
                              'all videos are used')
                subset = None
        if video_info_file is not None:
            subsets = load_video_subsets(video_info_file)
        subsets_seen = set(subsets.values()) if subsets else {None}
    else:
        subsets_seen = set()
    late: List[tuple] = []
    for raw_vid, v in iter_videos(data, fmt, path):
        vid = normalize_video_id(raw_vid)
        if fmt == 'anet_anno':
            if 'annotations' not in v:  # the datasets accept it; the evaluator does not
                raise ValueError(f'{path}: entry {raw_vid!r} has no "annotations" '
                                 '(anet_anno format)')
            vsub = subsets.get(vid) if subsets is not None else None
        else:
            vsub = v.get('subset')
            subsets_seen.add(vsub)
        if (subset is not None and vsub != subset) or vid in blocked:
            continue
        segs, labels, _ = parse_segments(v.get('annotations'), raw_vid, path)
        dur = video_duration(v, fmt, raw_vid, path, required=False)
        late += [(raw_vid, i) for i in _late_annotations(segs, dur)]
        _add_video(out, vid, dur, vsub, segs, labels)
    if subset is not None and subset not in subsets_seen:
        raise ValueError(f'{path}: no video in subset {subset!r}; subsets in the file: '
                         f'{sorted(str(s) for s in subsets_seen)}')
    _warn_late(path, late)
    return (out, fmt) if return_format else out


def ground_truth_from_lists(gt_videos: Dict[str, list], durations=None) -> Dict[str, dict]:
    """Build the ground-truth dict from ``{vid: [[start, end, label], ...]}``."""
    out: Dict[str, dict] = OrderedDict()
    for raw_vid, anns in gt_videos.items():
        anns = [] if anns is None else list(anns)
        segs = np.asarray([(float(a[0]), float(a[1])) for a in anns],
                          dtype=np.float64).reshape(-1, 2)
        labels = [str(a[2]) for a in anns]
        dur = None if durations is None else durations.get(raw_vid)
        _add_video(out, normalize_video_id(raw_vid), dur, None, segs, labels)
    return out


def load_predictions(path: str, require_label: bool = True) -> Dict[str, List[dict]]:
    """Read an ActivityNet submission; returns ordered ``vid -> [{label, score, segment}]``."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get('results'), dict):
        raise ValueError(f'{path}: prediction file needs a "results" object '
                         '{video: [{"label", "score", "segment"}]}')
    out: Dict[str, List[dict]] = OrderedDict()
    for raw_vid, preds in data['results'].items():
        if not isinstance(preds, list):
            raise ValueError(f'{path}: results[{raw_vid!r}] must be a list')
        vid = normalize_video_id(raw_vid)
        lst = out.setdefault(vid, [])
        for i, p in enumerate(preds):
            try:
                score, seg = p['score'], p['segment']
                # numbers only: float('0.9') or the first 2 of 3 numbers changed results
                if not _is_number(score):
                    raise TypeError(f'score must be a number, got {type(score).__name__}')
                if not isinstance(seg, (list, tuple)) or len(seg) != 2 \
                        or not all(_is_number(x) for x in seg):
                    raise TypeError('segment must be [start, end] (2 numbers)')
                entry = dict(score=float(score), segment=[float(seg[0]), float(seg[1])])
                if 'label' in p:
                    entry['label'] = str(p['label'])
                elif require_label:
                    raise KeyError('label')
            except (KeyError, TypeError, IndexError, ValueError) as exc:
                why = f' ({exc})' if isinstance(exc, TypeError) and str(exc)[:5] in (
                    'score', 'segme') else ''
                raise ValueError(f'{path}: results[{raw_vid!r}][{i}] is malformed (needs '
                                 f'"score", "segment"{", label" if require_label else ""})'
                                 f'{why}: {p!r}') from exc
            lst.append(entry)
    return out


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if hasattr(x, 'tolist'):  # torch tensors
        return _jsonable(x.tolist())
    return x


def dump_predictions(results: Dict[str, List[dict]], path: str,
                     version: str = 'VERSION 1.3', external_data: Optional[dict] = None):
    """Write ``{"version", "results", "external_data"}`` atomically (temp file +
    ``os.replace``), with the permissions of the user's umask. A NaN/Inf score or
    segment is an error naming the video (nothing is written)."""
    results = _jsonable(results)
    for vid, dets in results.items():
        for d in dets:
            values = [d.get('score', 0.0)] + list(d.get('segment', ()))
            if not all(isinstance(x, (int, float)) and np.isfinite(x) for x in values):
                raise ValueError(f'not writing {path}: a detection of video {vid!r} has '
                                 f'a non-finite score or segment ({d!r})')
    payload = dict(version=version,
                   results=results,
                   external_data=_jsonable(external_data if external_data is not None
                                           else dict(used=False, details='')))
    # this numpy-only package is also loaded on its own (tools/analysis/eval_detection.py),
    # so it does not import etad_mmaction.fileio; the same temporary-then-rename write
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = osp.join(directory, f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'w') as f:
            json.dump(payload, f, allow_nan=False)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
