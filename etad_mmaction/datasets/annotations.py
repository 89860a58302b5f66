"""Ground-truth parsing for ActivityNet-1.3, HACS and THUMOS-14 (paper App. B.1).

Supported annotation files (detected from their content):

* official ActivityNet / HACS json and the ActionFormer THUMOS json:
  ``{"database": {vid: {"subset", "duration", ["fps"], "annotations":
  [{"segment": [s, e], "label", ["label_id"]}]}}}``; an optional top-level
  ``"classes"`` list fixes the class order (written by the synthetic generator);
* BSN / MMAction2 ``anet_anno_*.json``: ``{vid: {"duration_second",
  "duration_frame", "feature_frame", "annotations": [...]}}``; the subsets come
  from a csv such as ``video_info_new.csv`` (columns ``video`` and ``subset``)
  or from a ``"subset"`` key per video.

Segments are seconds. :func:`clean_records` clips segments to ``[0, duration]``
and drops zero-length ones, with one :class:`TADAnnotationWarning` per kind of
problem naming the videos.
"""
import csv
import json
import os
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..evaluation.functional.video_ids import build_id_index, lookup_id, normalize_video_id


class TADAnnotationWarning(UserWarning):
    """A ground-truth problem that was repaired (clipped or dropped segment)."""


@dataclass
class VideoRecord:
    """One video of an annotation file; ``segments`` in seconds."""
    raw_id: str
    video_name: str
    duration: float
    subset: Optional[str] = None
    fps: Optional[float] = None
    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    labels: List[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def _read_json(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with open(path, 'r', encoding='utf-8') as f:
        try:
            return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f'annotation file {path} is not valid JSON ({err})') from err


def _number(value, what: str, video: str, path: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'video {video!r} in {path}: {what} {value!r} is not a number')
    if not np.isfinite(out):
        raise ValueError(f'video {video!r} in {path}: {what} is {out}')
    return out


def _parse_annotations(anns, video: str, path: str) -> Tuple[np.ndarray, List[str], Dict]:
    segments, labels, ids = [], [], {}
    for ann in anns or []:
        if 'segment' not in ann or 'label' not in ann:
            raise ValueError(f'video {video!r} in {path}: annotation {ann!r} needs '
                             '"segment" and "label"')
        seg = ann['segment']
        if len(seg) != 2:
            raise ValueError(f'video {video!r} in {path}: segment {seg!r} is not [start, end]')
        segments.append([_number(seg[0], 'segment start', video, path),
                         _number(seg[1], 'segment end', video, path)])
        label = str(ann['label'])
        labels.append(label)
        if 'label_id' in ann:
            ids.setdefault(label, set()).add(int(ann['label_id']))
    arr = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    return arr, labels, ids


def load_subset_file(path: str) -> Dict[str, str]:
    """``video_info_new.csv``-style csv (columns ``video`` and ``subset``) ->
    ``{normalised id: subset (lower case)}``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'subset file not found: {path}')
    out = {}
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or 'video' not in reader.fieldnames \
                or 'subset' not in reader.fieldnames:
            raise ValueError(f'subset file {path} needs the columns "video" and "subset"')
        for row in reader:
            out[row['video']] = row['subset'].strip().lower()
    return out


def parse_annotation_file(path: str, subset_file: Optional[str] = None,
                          data: Optional[dict] = None
                          ) -> Tuple[List[VideoRecord], Optional[List[str]]]:
    """Parse an annotation file (format detected) into :class:`VideoRecord` s.

    Returns ``(records, classes)`` where ``classes`` is the class order the
    file defines (top-level ``"classes"`` or ``label_id`` s) or ``None``.
    ``data``: the file's content, already in memory (``path`` then only names
    it in errors).
    """
    data = _read_json(path) if data is None else data
    records: List[VideoRecord] = []
    label_ids: Dict[str, set] = {}
    classes = None
    if isinstance(data, dict) and isinstance(data.get('database'), dict):
        if isinstance(data.get('classes'), list):
            classes = [str(c) for c in data['classes']]
        for vid, info in data['database'].items():
            vid = str(vid)
            if 'duration' in info:
                duration = _number(info['duration'], 'duration', vid, path)
            elif 'duration_second' in info:
                duration = _number(info['duration_second'], 'duration', vid, path)
            else:
                raise ValueError(f'video {vid!r} in {path} has no "duration"')
            segs, labels, ids = _parse_annotations(info.get('annotations'), vid, path)
            for k, v in ids.items():
                label_ids.setdefault(k, set()).update(v)
            subset = info.get('subset')
            fps = info.get('fps')
            records.append(VideoRecord(
                raw_id=vid, video_name=normalize_video_id(vid), duration=duration,
                subset=None if subset is None else str(subset).lower(),
                fps=None if fps is None else float(fps), segments=segs, labels=labels))
    elif isinstance(data, dict):
        for vid, info in data.items():
            vid = str(vid)
            if not isinstance(info, dict) or 'duration_second' not in info and \
                    'duration' not in info:
                raise ValueError(
                    f'{path} is neither an ActivityNet-style json (with "database") nor '
                    f'a BSN/MMAction2 anet_anno json: video {vid!r} has no "duration_second"')
            duration = _number(info.get('duration_second', info.get('duration')),
                               'duration', vid, path)
            segs, labels, ids = _parse_annotations(info.get('annotations'), vid, path)
            for k, v in ids.items():
                label_ids.setdefault(k, set()).update(v)
            extra = {k: info[k] for k in ('duration_frame', 'feature_frame', 'rfps')
                     if k in info}
            subset = info.get('subset')
            records.append(VideoRecord(
                raw_id=vid, video_name=normalize_video_id(vid), duration=duration,
                subset=None if subset is None else str(subset).lower(),
                fps=float(info['fps']) if 'fps' in info else None,
                segments=segs, labels=labels, extra=extra))
    else:
        raise ValueError(f'unrecognised annotation file format: {path}')

    if subset_file is not None:
        subsets = load_subset_file(subset_file)
        index = build_id_index(subsets)
        for rec in records:
            key = lookup_id(index, rec.raw_id)
            if key is not None:
                rec.subset = subsets[key]

    names = {n for rec in records for n in rec.labels}
    for rec in records:
        if rec.duration <= 0:
            raise ValueError(f'video {rec.raw_id!r} in {path}: duration {rec.duration} <= 0')
    if classes is None and names and set(label_ids) == names and all(
            len(v) == 1 for v in label_ids.values()):
        by_id = sorted(label_ids, key=lambda n: next(iter(label_ids[n])))
        if len({next(iter(label_ids[n])) for n in by_id}) == len(by_id):
            classes = by_id
    return records, classes


def clean_records(records: Sequence[VideoRecord], source: str = '',
                  min_length: float = 0.0, warn: bool = True) -> List[VideoRecord]:
    """Clip segments to ``[0, duration]`` and drop those not longer than
    ``min_length`` seconds (zero-length or inverted), warning once per kind of
    problem with the affected videos named. Records are modified in place."""
    clipped, dropped = [], []
    for rec in records:
        if len(rec.segments) == 0:
            continue
        seg = rec.segments
        new = np.clip(seg, 0.0, rec.duration)
        moved = np.any(np.abs(new - seg) > 1e-9, axis=1)
        for i in np.flatnonzero(moved):
            # full precision and the overshoot: rounded values can look in range
            start, end = (float(v) for v in seg[i])
            over = max(0.0 - start, end - rec.duration)
            clipped.append(f'{rec.raw_id} [{start!r}, {end!r}] ({over:.3g} s outside '
                           f'[0, {float(rec.duration)!r}])')
        keep = (new[:, 1] - new[:, 0]) > min_length
        for i in np.flatnonzero(~keep):
            dropped.append(f'{rec.raw_id} {seg[i].round(3).tolist()}')
        rec.segments = new[keep]
        rec.labels = [lab for lab, k in zip(rec.labels, keep) if k]
    if warn:
        where = f' in {source}' if source else ''
        if clipped:
            warnings.warn(
                f'{len(clipped)} segment(s){where} outside [0, duration] were clipped: '
                + '; '.join(clipped[:8]) + (' ...' if len(clipped) > 8 else ''),
                TADAnnotationWarning, stacklevel=2)
        if dropped:
            warnings.warn(
                f'{len(dropped)} zero-length segment(s){where} were dropped: '
                + '; '.join(dropped[:8]) + (' ...' if len(dropped) > 8 else ''),
                TADAnnotationWarning, stacklevel=2)
    return list(records)


def load_class_names(spec: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a list, or from a file: ``.txt`` (one per line),
    ``.csv`` (first column, first row is a header as in ``action_name.csv``) or
    ``.json`` (a list, or a dict with ``"classes"``/``"class"``)."""
    if not isinstance(spec, str):
        return [str(c) for c in spec]
    if not osp.isfile(spec):
        raise FileNotFoundError(f'class list file not found: {spec}')
    ext = osp.splitext(spec)[1].lower()
    if ext == '.json':
        data = _read_json(spec)
        if isinstance(data, dict):
            data = data.get('classes', data.get('class'))
        if not isinstance(data, list):
            raise ValueError(f'{spec}: expected a list of class names')
        return [str(c) for c in data]
    with open(spec, newline='', encoding='utf-8') as f:
        if ext == '.csv':
            rows = [r for r in csv.reader(f) if r]
            return [r[0].strip() for r in rows[1:]]
        return [line.strip() for line in f if line.strip()]


def load_id_list(spec: Union[str, Sequence[str], None]) -> List[str]:
    """Video ids from a list or a file (``.json`` list, or text/csv first
    column, one per line); used for block lists such as ``blocked.json``."""
    if spec is None:
        return []
    if not isinstance(spec, str):
        return [str(v) for v in spec]
    if not osp.isfile(spec):
        raise FileNotFoundError(f'video list file not found: {spec}')
    if spec.lower().endswith('.json'):
        data = _read_json(spec)
        if isinstance(data, dict):
            data = list(data)
        return [str(v) for v in data]
    with open(spec, encoding='utf-8') as f:
        return [line.split(',')[0].strip() for line in f if line.strip()]


def resolve_classes(records: Sequence[VideoRecord], file_classes: Optional[List[str]],
                    classes: Union[str, Sequence[str], None], source: str) -> List[str]:
    """The dataset's class order: ``classes`` (list or file) if given, else the
    file's own order, else sorted label names. Every label must be known."""
    if classes is not None:
        names = load_class_names(classes)
    elif file_classes is not None:
        names = list(file_classes)
    else:
        names = sorted({n for rec in records for n in rec.labels})
    if len(set(names)) != len(names):
        raise ValueError(f'duplicate class names in the class list for {source}')
    known = set(names)
    for rec in records:
        for lab in rec.labels:
            if lab not in known:
                raise ValueError(f'video {rec.raw_id!r} in {source}: label {lab!r} is not in '
                                 f'the class list ({len(names)} classes)')
    return names


def as_path(path: Optional[str], root: str) -> Optional[str]:
    """Join a relative ``path`` with ``root`` (as mmengine does for ``ann_file``)."""
    if path is None or not isinstance(path, str):
        return path
    if root and not osp.isabs(path):
        return os.path.join(root, path)
    return path
