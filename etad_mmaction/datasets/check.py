"""Open every feature file of a dataset once and report all the bad ones at once.

Used by ``tools/data/check_features.py``: a damaged file (truncated ``.npy``,
damaged header, pickled object data, a ragged ``.csv`` row, NaN/Inf, a wrong
channel count) then shows up in seconds instead of hours into training.
"""
from typing import List, Tuple

from .features import FeatureLocator, load_feature


def check_feature_files(dataset, max_errors: int = -1) -> Tuple[int, List[str]]:
    """Check the feature files of a ``TADFeatureDataset`` (built with
    ``lazy_init=True`` or not).

    Returns ``(number of videos checked, error messages)``; every message names
    the video and the file. ``max_errors >= 0`` stops after that many errors.
    """
    records = dataset.load_records()
    prefix = dataset.data_prefix.get('feature', dataset.data_prefix.get('video', '')) or '.'
    locator = FeatureLocator(prefix, dataset.feature_ext)
    errors: List[str] = []
    checked = 0
    for rec in records:
        checked += 1
        try:
            path, key = locator.locate(rec.raw_id)
            load_feature(path, locator.format, key=key, layout=dataset.feature_layout,
                         video=rec.raw_id, feature_dim=dataset.feature_dim)
        except (ValueError, OSError) as err:
            errors.append(f'{type(err).__name__}: {err}')
            if 0 <= max_errors <= len(errors):
                break
    return checked, errors
