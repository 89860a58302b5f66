"""Video-level classifier scores (paper Sec. 4 / App. B.2: ETAD's proposals are
class-agnostic and labelled with an external video classifier).

Supported files:

* ``.json`` in the CUHK style (``cuhk_val_simp_7.json``):
  ``{"results": {video_id: [score per class]}, "class": [class names]}``;
  ``"classes"`` is accepted for ``"class"``, and without a class list the
  columns must already follow the dataset's class order;
* ``.npz`` with arrays ``scores`` ``[V, K]``, ``videos`` ``[V]`` and optionally
  ``classes`` ``[K]`` (UntrimmedNet-style scores for THUMOS-14);
* ``.npy`` ``[V, K]`` (e.g. ``uNet_test.npy``) together with ``index``: the
  video id of every row, as a list or a text/json file.

Scores are reordered to the dataset's class order by name and returned as
float32 ``[num_classes]``. Video ids are matched after normalisation.
"""
import json
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np

from .annotations import load_class_names, load_id_list
from ..evaluation.functional.video_ids import build_id_index, lookup_id, video_id_candidates


class MissingVideoError(LookupError):
    """A video of the dataset is absent from a file that must cover it."""

    def __str__(self):  # plain message (KeyError would quote it)
        return str(self.args[0]) if self.args else ''


class ClassifierScores:
    """Scores of one classifier file, in a dataset's class order."""

    def __init__(self, path: str, classes: Sequence[str],
                 index: Union[str, Sequence[str], None] = None):
        self.path = path
        if not osp.isfile(path):
            raise FileNotFoundError(f'classifier score file not found: {path}')
        ext = osp.splitext(path)[1].lower()
        file_classes = None
        if ext == '.json':
            with open(path, 'r', encoding='utf-8') as f:
                try:
                    data = json.load(f)
                except (json.JSONDecodeError, UnicodeDecodeError) as err:
                    raise ValueError(f'classifier score file {path} is not valid JSON '
                                     f'({err})') from err
            if isinstance(data, dict) and isinstance(data.get('results'), dict):
                file_classes = data.get('class', data.get('classes'))
                data = data['results']
            if not isinstance(data, dict):
                raise ValueError(f'{path}: expected {{"results": {{video: scores}}, '
                                 '"class": [...]}}')
            videos = [str(v) for v in data]
            rows = [np.asarray(data[v], dtype=np.float64).reshape(-1) for v in data]
            lengths = {len(r) for r in rows}
            if len(lengths) > 1:
                raise ValueError(f'{path}: score vectors of different lengths {sorted(lengths)}')
            scores = np.stack(rows) if rows else np.zeros((0, len(classes)))
        elif ext == '.npz':
            with np.load(path, allow_pickle=False) as npz:
                if 'scores' not in npz or 'videos' not in npz:
                    raise ValueError(f'{path}: an .npz classifier file needs "scores" and "videos"')
                scores = np.asarray(npz['scores'], dtype=np.float64)
                videos = [str(v) for v in npz['videos']]
                if 'classes' in npz:
                    file_classes = [str(c) for c in npz['classes']]
        elif ext == '.npy':
            if index is None:
                raise ValueError(f'{path}: an .npy classifier file needs `classifier_index` '
                                 '(the video id of every row)')
            scores = np.asarray(np.load(path), dtype=np.float64)
            videos = load_id_list(index)
        else:
            raise ValueError(f'{path}: unsupported classifier file type {ext!r} '
                             '(use .json, .npz or .npy)')
        if scores.ndim != 2 or scores.shape[0] != len(videos):
            raise ValueError(f'{path}: scores of shape {scores.shape} for {len(videos)} videos')
        if file_classes is not None:
            file_classes = load_class_names(file_classes)
            col = {c: i for i, c in enumerate(file_classes)}
            missing = [c for c in classes if c not in col]
            if missing:
                raise ValueError(f'{path}: classes {missing[:5]} of the dataset are not in '
                                 'the classifier class list')
            scores = scores[:, [col[c] for c in classes]]
        elif scores.shape[1] != len(classes):
            raise ValueError(f'{path}: {scores.shape[1]} scores per video but the dataset '
                             f'has {len(classes)} classes (and the file has no class list)')
        self.scores = scores.astype(np.float32)
        self.videos = videos
        self._index = build_id_index(videos)
        self._row = {v: i for i, v in enumerate(videos)}

    def get(self, raw_id: str) -> np.ndarray:
        """float32 ``[num_classes]`` for a video; raises naming video and file."""
        key = lookup_id(self._index, raw_id)
        if key is None:
            raise MissingVideoError(
                f'video {raw_id!r} is missing from the classifier score file {self.path} '
                f'(tried {video_id_candidates(raw_id)})')
        row = self.scores[self._row[key]].copy()
        if not np.isfinite(row).all():
            raise ValueError(f'classifier scores of video {raw_id!r} in {self.path} '
                             'contain NaN/Inf')
        return row


def load_classifier_scores(path: str, classes: Sequence[str],
                           index: Union[str, Sequence[str], None] = None
                           ) -> Optional[ClassifierScores]:
    """:class:`ClassifierScores` for ``path``, or ``None`` when ``path`` is None."""
    if path is None:
        return None
    return ClassifierScores(path, classes, index)
