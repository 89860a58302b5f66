"""The one reader of temporal-action annotation files (numpy only), shared by the
evaluator (:mod:`.io`: scores exactly what it is given, loads without torch) and the
datasets (``etad_mmaction.datasets.annotations``: needs durations, repairs segments).

Formats (:func:`detect_format`):

``activitynet``
    official ActivityNet / HACS json ``{"database": {vid: {"subset", "duration",
    "annotations": [{"segment", "label", ["label_id"]}]}}, "taxonomy", "version"}``;
    an optional top-level ``"classes"`` list (the synthetic generator's);
``thumos``
    ActionFormer THUMOS-14 json: the same ``database`` layout with ``subset``
    ``Validation`` / ``Test`` and ``fps``, ``label_id`` entries;
``anet_anno``
    BSN / MMAction2 ``anet_anno_*.json`` ``{vid: {"duration_second", "annotations"}}``;
    subsets from a csv with ``video`` and ``subset`` columns (``video_info_new.csv``).
"""
import csv
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

GT_FORMATS = ('activitynet', 'thumos', 'anet_anno')


def read_json(path: str, what: str = 'file'):
    """``json.load`` of ``path``; a missing file or invalid JSON is an error naming it."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with open(path, 'r', encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{path}: not valid JSON ({e})') from e


def detect_format(data, path: str = '<ground truth>') -> str:
    """``'activitynet'``, ``'thumos'`` or ``'anet_anno'`` for the loaded json ``data``."""
    if not isinstance(data, dict):
        raise ValueError(f'{path}: ground truth must be a JSON object, got '
                         f'{type(data).__name__}')
    if 'database' in data:
        db = data['database']
        if not isinstance(db, dict):
            raise ValueError(f'{path}: "database" must be an object')
        first = next(iter(db.values()), {})
        if isinstance(first, dict) and 'fps' in first and 'taxonomy' not in data:
            return 'thumos'
        subsets = {v.get('subset') for v in db.values() if isinstance(v, dict)}
        if subsets & {'Test', 'Validation'} and 'taxonomy' not in data:
            return 'thumos'
        return 'activitynet'
    if 'results' in data:
        raise ValueError(f'{path}: this looks like a prediction file ("results"), '
                         'not ground truth')
    first = next(iter(data.values()), None)
    if isinstance(first, dict) and ('annotations' in first or 'duration_second' in first):
        return 'anet_anno'
    raise ValueError(f'{path}: unknown ground-truth format: expected a "database" '
                     'object (ActivityNet / THUMOS) or a BSN anet_anno mapping '
                     '{video: {"duration_second", "annotations"}}')


def iter_videos(data: dict, fmt: str, path: str) -> Iterator[Tuple[str, dict]]:
    """``(raw id, entry)`` of every video in file order."""
    entries = data if fmt == 'anet_anno' else data['database']
    for raw_id, info in entries.items():
        if not isinstance(info, dict):
            raise ValueError(f'{path}: video entry {raw_id!r} must be an object')
        yield str(raw_id), info


def number(value, what: str, video: str, path: str) -> float:
    """``float(value)``, or an error naming the file, the video and ``what``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{path}: video {video!r}: {what} {value!r} is not a number')
    if not np.isfinite(out):
        raise ValueError(f'{path}: video {video!r}: {what} is {out}')
    return out


def video_duration(info: dict, fmt: str, video: str, path: str,
                   required: bool) -> Optional[float]:
    """Seconds of the video (``duration``, or ``duration_second`` of BSN files)."""
    keys = ('duration_second', 'duration') if fmt == 'anet_anno' else (
        'duration', 'duration_second')
    key = next((k for k in keys if info.get(k) is not None), None)
    if key is None:
        if required:
            raise ValueError(f'{path}: video {video!r} has no "duration" / '
                             '"duration_second"')
        return None
    return number(info[key], 'duration', video, path)


def parse_segments(anns, video: str, path: str, allow_inverted: bool = False
                   ) -> Tuple[np.ndarray, List[str], Dict[str, set]]:
    """``(segments float64 [N, 2] seconds, labels, {label: label_ids})`` of one
    video's ``annotations``. NaN/Inf is an error; so is start > end unless
    ``allow_inverted`` (the datasets drop such segments with a warning)."""
    if anns is None:
        anns = []
    if not isinstance(anns, list):
        raise ValueError(f'{path}: video {video!r}: "annotations" must be a list')
    segs, labels, ids = [], [], {}
    for i, ann in enumerate(anns):
        try:
            seg = ann['segment']
            if len(seg) != 2:
                raise ValueError('not [start, end]')
            s, e = float(seg[0]), float(seg[1])
            label = str(ann['label'])
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f'{path}: video {video!r} annotation {i} is malformed '
                             f'(needs "segment": [start, end] and "label"): {ann!r}'
                             ) from exc
        if not (np.isfinite(s) and np.isfinite(e)) or (s > e and not allow_inverted):
            raise ValueError(f'{path}: video {video!r} annotation {i} has segment {[s, e]}: '
                             'NaN/Inf or start > end, which cannot be scored')
        segs.append((s, e))
        labels.append(label)
        if 'label_id' in ann:
            ids.setdefault(label, set()).add(int(ann['label_id']))
    return np.asarray(segs, dtype=np.float64).reshape(-1, 2), labels, ids


def read_subset_csv(path: str) -> Dict[str, str]:
    """``{video as written: subset as written}`` from a csv with ``video`` and
    ``subset`` columns (``video_info_new.csv``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'subset file not found: {path}')
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {'video', 'subset'} <= set(reader.fieldnames):
            raise ValueError(f'{path}: csv needs the columns "video" and "subset", '
                             f'got {reader.fieldnames}')
        return {row['video']: row['subset'].strip() for row in reader}
