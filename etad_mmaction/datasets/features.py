"""Snippet-feature storage: one file per video (``.npy``, ``.pt``, MMAction2
``.csv``) or one HDF5 file keyed by video id.

Layout on disk is time-major ``[T, C]`` (one row per temporal position, as in
MMAction2's csv files) unless ``layout='CT'``. Files are looked up under every
spelling of the id (``v_<id>`` and ``<id>``, see
:mod:`etad_mmaction.evaluation.functional.video_ids`).
"""
import os.path as osp
import pickle
from typing import List, Optional, Tuple

import numpy as np

from ..evaluation.functional.video_ids import build_id_index, lookup_id, video_id_candidates

FORMATS = {'.npy': 'npy', '.pt': 'pt', '.pth': 'pt', '.csv': 'csv',
           '.h5': 'h5', '.hdf5': 'h5'}


class FeatureError(ValueError):
    """A feature array that cannot be used (unreadable file, wrong shape or
    dimension, NaN/Inf)."""


#: what numpy, torch, h5py and the csv reader raise on a damaged file
_READ_ERRORS = (ValueError, OSError, EOFError, pickle.UnpicklingError, RuntimeError,
                KeyError, IndexError, TypeError, AttributeError)


def _read_error(err: Exception, video: str, where: str) -> Exception:
    """``err`` unchanged when it already names the video, else a
    :class:`FeatureError` that names the video and the file."""
    if isinstance(err, (FeatureError, FileNotFoundError)):
        return err
    first = (str(err).splitlines() or [''])[0][:200]
    return FeatureError(f'cannot read the features of video {video!r} from {where} '
                        f'({type(err).__name__}: {first}); the file may be truncated, '
                        'corrupt or not a feature file')


class FeatureLocator:
    """Finds the feature source of a video.

    Args:
        prefix (str): folder of per-video files, or the path of one HDF5 file.
        ext (str): extension of per-video files (``.npy``, ``.pt``, ``.csv``);
            ignored when ``prefix`` is an HDF5 file.
    """

    def __init__(self, prefix: str, ext: str = '.npy'):
        self.prefix = prefix
        ext = ext if ext.startswith('.') else '.' + ext
        is_h5 = osp.splitext(prefix)[1].lower() in ('.h5', '.hdf5') or ext in ('.h5', '.hdf5')
        if is_h5:
            if not osp.isfile(prefix):
                raise FileNotFoundError(f'HDF5 feature file not found: {prefix}')
            import h5py
            with h5py.File(prefix, 'r') as f:
                self._index = build_id_index(f.keys())
            self.format = 'h5'
        else:
            if ext not in FORMATS:
                raise ValueError(f'unsupported feature extension {ext!r}; '
                                 f'use one of {sorted(FORMATS)}')
            if not osp.isdir(prefix):
                raise FileNotFoundError(f'feature folder not found: {prefix}')
            self.format = FORMATS[ext]
            self._index = None
        self.ext = ext

    def locate(self, raw_id: str) -> Tuple[str, Optional[str]]:
        """``(path, key)`` of the video's features (``key`` only for HDF5)."""
        if self.format == 'h5':
            key = lookup_id(self._index, raw_id)
            if key is None:
                raise FileNotFoundError(
                    f'features of video {raw_id!r} not found in {self.prefix} '
                    f'(tried keys {video_id_candidates(raw_id)})')
            return self.prefix, key
        tried: List[str] = []
        for name in video_id_candidates(raw_id):
            path = osp.join(self.prefix, name + self.ext)
            if osp.isfile(path):
                return path, None
            tried.append(path)
        raise FileNotFoundError(f'feature file of video {raw_id!r} not found: tried '
                                + ', '.join(tried))


def _csv_has_header(path: str) -> bool:
    with open(path, 'r') as f:
        first = f.readline().strip().split(',')
    try:
        [float(x) for x in first]
        return False
    except ValueError:
        return True


def _torch_array(path: str, video: str) -> np.ndarray:
    import torch
    obj = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(obj, dict):
        for key in ('feats', 'features', 'feature'):
            if key in obj:
                obj = obj[key]
                break
        else:
            values = [v for v in obj.values() if hasattr(v, 'shape')]
            if len(values) != 1:
                raise FeatureError(f'video {video!r}: {path} holds a dict without a '
                                   '"feats"/"features" tensor')
            obj = values[0]
    if hasattr(obj, 'detach'):
        obj = obj.detach().cpu().float().numpy()
    return np.asarray(obj)


def feature_shape(path: str, fmt: str, key: Optional[str] = None, layout: str = 'TC',
                  video: str = '') -> Tuple[int, int]:
    """``(T, C)`` of a stored feature without loading it (npy / HDF5) or by
    reading it (pt / csv). Read errors name the video and the file."""
    try:
        return _feature_shape(path, fmt, key, layout, video)
    except _READ_ERRORS as err:
        raise _read_error(err, video, f'{path}[{key}]' if key else path) from err


def _feature_shape(path, fmt, key, layout, video):
    if fmt == 'npy':
        shape = np.load(path, mmap_mode='r').shape
    elif fmt == 'h5':
        import h5py
        with h5py.File(path, 'r') as f:
            shape = f[key].shape
    elif fmt == 'csv':
        header = _csv_has_header(path)
        with open(path, 'r') as f:
            first = f.readline()
            rows = sum(1 for line in f if line.strip()) + (0 if header else 1)
        shape = (rows, len(first.strip().split(',')))
    else:
        shape = _torch_array(path, video).shape
    if len(shape) != 2:
        raise FeatureError(f'features of video {video!r} in {path}'
                           f'{"[" + key + "]" if key else ""} have shape {tuple(shape)}, '
                           'expected 2 dimensions (time x channels)')
    return (shape[0], shape[1]) if layout == 'TC' else (shape[1], shape[0])


def load_feature(path: str, fmt: str, key: Optional[str] = None, layout: str = 'TC',
                 start: Optional[int] = None, stop: Optional[int] = None,
                 video: str = '', feature_dim: Optional[int] = None) -> np.ndarray:
    """Load features as float32 ``[T, C]`` (time-major), optionally only the
    rows ``start:stop``, and check them: 2-D, ``C == feature_dim`` when given,
    all finite. Errors name the video and the path, including those of a file
    that cannot be read (truncated, damaged header, not an array)."""
    where = f'{path}[{key}]' if key else path
    if not osp.isfile(path):
        raise FileNotFoundError(f'feature file of video {video!r} not found: {path}')
    try:
        arr = _read_rows(path, fmt, key, layout, slice(start, stop), video)
        if arr.ndim == 2:
            arr = np.ascontiguousarray(arr, dtype=np.float32)
    except _READ_ERRORS as err:
        raise _read_error(err, video, where) from err
    return _check_feature(arr, where, video, start, feature_dim, layout)


def _read_rows(path, fmt, key, layout, sl, video) -> np.ndarray:
    if fmt == 'npy':
        arr = np.load(path, mmap_mode='r', allow_pickle=False)
        if arr.ndim == 2:
            arr = arr[sl] if layout == 'TC' else arr[:, sl].T
    elif fmt == 'h5':
        import h5py
        with h5py.File(path, 'r') as f:
            if key not in f:
                raise FileNotFoundError(f'features of video {video!r} not found in {path} '
                                        f'(key {key!r})')
            ds = f[key]
            if ds.ndim == 2:
                arr = ds[sl] if layout == 'TC' else ds[:, sl].T
            else:
                arr = ds[()]
    elif fmt == 'csv':
        arr = np.loadtxt(path, dtype=np.float32, delimiter=',', ndmin=2,
                         skiprows=1 if _csv_has_header(path) else 0)
        if layout == 'CT':
            arr = arr.T
        arr = arr[sl]
    elif fmt == 'pt':
        arr = _torch_array(path, video)
        if arr.ndim == 2:
            arr = arr[sl] if layout == 'TC' else arr[:, sl].T
    else:
        raise FeatureError(f'unknown feature format {fmt!r} of video {video!r} ({path})')
    return arr


def _check_feature(arr, where, video, start, feature_dim, layout) -> np.ndarray:
    if arr.ndim != 2:
        raise FeatureError(f'features of video {video!r} in {where} have shape '
                           f'{tuple(arr.shape)}, expected 2 dimensions (time x channels)')
    if arr.shape[0] == 0:
        raise FeatureError(f'features of video {video!r} in {where} are empty')
    if feature_dim is not None and arr.shape[1] != int(feature_dim):
        raise FeatureError(f'features of video {video!r} in {where} have dimension '
                           f'{arr.shape[1]}, but feature_dim={feature_dim} is configured '
                           f'(shape {tuple(arr.shape)}, layout {layout})')
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise FeatureError(f'features of video {video!r} in {where} contain NaN/Inf '
                           f'(first at row {int(bad[0]) + (start or 0)}, channel {int(bad[1])})')
    return arr
