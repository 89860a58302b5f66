"""Ground truth of the datasets: ActivityNet-1.3, HACS and THUMOS-14 (paper App. B.1).

The files are read by the evaluation package's numpy-only core
(``evaluation/functional/annotation_files.py``, formats documented there); here they
become :class:`VideoRecord` s with a positive duration (required), subsets from the
file, a ``"subset"`` key per BSN video or a ``video_info_new.csv``, and the file's class
order (top-level ``"classes"`` or ``label_id`` s).

Segments are seconds. :func:`clean_records` clips segments to ``[0, duration]``
and drops zero-length ones, with one :class:`TADAnnotationWarning` per kind of
problem naming the videos.
"""
import csv
import os
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..evaluation.functional.annotation_files import (detect_format, iter_videos,
                                                      parse_segments, read_json,
                                                      read_subset_csv, video_duration)
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
    return read_json(path, 'annotation file')


def load_subset_file(path: str) -> Dict[str, str]:
    """``video_info_new.csv``-style csv (columns ``video`` and ``subset``) ->
    ``{video: subset (lower case)}``."""
    return {v: sub.lower() for v, sub in read_subset_csv(path).items()}


def parse_annotation_file(path: str, subset_file: Optional[str] = None,
                          data: Optional[dict] = None
                          ) -> Tuple[List[VideoRecord], Optional[List[str]]]:
    """Parse an annotation file (format detected) into :class:`VideoRecord` s.

    Returns ``(records, classes)`` where ``classes`` is the class order the
    file defines (top-level ``"classes"`` or ``label_id`` s) or ``None``.
    ``data``: the file's content, already in memory (``path`` then only names
    it in errors). Every video needs a positive duration; segments outside the
    video or with start > end are kept here and repaired by :func:`clean_records`.
    """
    data = _read_json(path) if data is None else data
    fmt = detect_format(data, path)
    classes = None
    if fmt != 'anet_anno' and isinstance(data.get('classes'), list):
        classes = [str(c) for c in data['classes']]
    records: List[VideoRecord] = []
    label_ids: Dict[str, set] = {}
    for vid, info in iter_videos(data, fmt, path):
        duration = video_duration(info, fmt, vid, path, required=True)
        if duration <= 0:
            raise ValueError(f'{path}: video {vid!r}: duration {duration} <= 0')
        segs, labels, ids = parse_segments(info.get('annotations'), vid, path,
                                           allow_inverted=True)
        for k, v in ids.items():
            label_ids.setdefault(k, set()).update(v)
        extra = {k: info[k] for k in ('duration_frame', 'feature_frame', 'rfps')
                 if k in info} if fmt == 'anet_anno' else {}
        subset, fps = info.get('subset'), info.get('fps')
        records.append(VideoRecord(
            raw_id=vid, video_name=normalize_video_id(vid), duration=duration,
            subset=None if subset is None else str(subset).lower(),
            fps=None if fps is None else float(fps), segments=segs, labels=labels,
            extra=extra))

    if subset_file is not None:
        subsets = load_subset_file(subset_file)
        index = build_id_index(subsets)
        for rec in records:
            key = lookup_id(index, rec.raw_id)
            if key is not None:
                rec.subset = subsets[key]

    names = {n for rec in records for n in rec.labels}
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
