"""Video id normalisation for ground truth, predictions, feature files and classifier
files (here, in the numpy-only evaluation package that ``tools/analysis/
eval_detection.py`` loads on its own; the datasets import it from here).

ActivityNet ids carry a ``v_`` prefix in BSN/MMAction2 files and in most
feature releases, and none in the official json and in CUHK classifier files.
Datasets and evaluation share the rule: strip exactly one leading ``v_``.
Because a few YouTube ids themselves start with ``v_`` (``v_v_UmAH95xls`` in
BSN files is ``v_UmAH95xls`` on YouTube), lookups in feature folders,
HDF5 files and classifier files try every spelling from
:func:`video_id_candidates`.
"""
from typing import Iterable, List


def normalize_video_id(video_id) -> str:
    """``str(video_id)`` without one leading ``v_`` (``v_abc`` -> ``abc``)."""
    video_id = str(video_id)
    return video_id[2:] if video_id.startswith('v_') else video_id


def video_id_candidates(raw_id) -> List[str]:
    """Spellings under which a video may be stored, most specific first:
    the id as written in the annotation file, with ``v_`` added, the
    normalised id and the normalised id with ``v_``."""
    raw_id = str(raw_id)
    norm = normalize_video_id(raw_id)
    out: List[str] = []
    for name in (raw_id, 'v_' + raw_id, norm, 'v_' + norm):
        if name not in out:
            out.append(name)
    return out


def build_id_index(keys: Iterable) -> dict:
    """Map every stored key and its normalised form to the stored key (an exact
    key wins over a normalised alias)."""
    index = {}
    keys = [str(k) for k in keys]
    for key in keys:
        index.setdefault(normalize_video_id(key), key)
    for key in keys:
        index[key] = key
    return index


def lookup_id(index: dict, raw_id):
    """The stored key for ``raw_id`` in an index from :func:`build_id_index`,
    or ``None``."""
    for name in video_id_candidates(raw_id):
        if name in index:
            return index[name]
    return None
