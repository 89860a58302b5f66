"""Generated datasets for the embedded defaults (no downloads needed).

``features``: semi-synthetic snippet features for ETAD on features (:mod:`.features`);
``videos``: raw videos and a pretrained encoder for end-to-end training
(:mod:`.videos`). Both write through :mod:`.store` (atomic folder, lock, replacing
only their own folders). :func:`ensure_synthetic_dataset` is the hook that the
datasets' ``synthetic=dict(...)`` option calls; the arrows run one way:
this module -> features / videos -> store.
"""
from .features import (GENERATOR_VERSION, SyntheticParams, check_meta,
                       generate_synthetic_dataset, params_dict)
from .store import META_FILE, ensure_dataset, read_meta
from .videos import SyntheticVideoParams, generate_synthetic_video_dataset
from .videos import check_meta as check_video_meta


def ensure_synthetic_dataset(root: str, progress: bool = True, **params) -> str:
    """Generate the dataset at ``root`` unless it is already there (with the same
    parameters; different ones raise). Safe when several processes call it at once:
    one generates under ``<root>.lock`` while the others wait, then find it.
    ``kind='video'`` generates raw videos and a pretrained encoder instead (the
    embedded end-to-end default). Relative roots are relative to the working
    directory (as MMEngine's ``data_root``); generating logs the absolute path."""
    kind = params.pop('kind', 'features')
    if kind == 'video':
        vp = SyntheticVideoParams(**params)
        return ensure_dataset(
            root, lambda r, meta: check_video_meta(r, meta, vp),
            lambda r: generate_synthetic_video_dataset(r, progress=progress, **params),
            'synthetic video dataset')
    if kind != 'features':
        raise ValueError(f"synthetic kind must be 'features' or 'video', got {kind!r}")
    p = SyntheticParams(**params)
    return ensure_dataset(
        root, lambda r, meta: check_meta(r, meta, p),
        lambda r: generate_synthetic_dataset(r, progress=progress, **params),
        'synthetic feature dataset')


__all__ = ['ensure_synthetic_dataset', 'generate_synthetic_dataset',
           'generate_synthetic_video_dataset', 'SyntheticParams', 'SyntheticVideoParams',
           'GENERATOR_VERSION', 'META_FILE', 'read_meta', 'params_dict']
