"""Feature loading transform (paper App. B.1, pre-extracted feature setting)."""
from typing import Optional

from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from ..features import load_feature


@TRANSFORMS.register_module()
class LoadTADFeature(BaseTransform):
    """Load a video's snippet features as ``raw_feature`` float32 ``[C, L]``
    (channels first, as MMAction2's ``LoadLocalizationFeature``).

    Required keys: ``feature_path``, ``feature_format`` (``npy``/``pt``/``csv``/
    ``h5``), ``feature_key`` (HDF5 key or None), ``video_name``; optional
    ``feature_layout``, ``feature_dim`` (set by the datasets), and for windowed
    samples ``window_start_idx``/``window_size`` (only those rows are read
    from ``.npy``/HDF5). Added keys: ``raw_feature``, ``feature_start_idx``.

    Raises an error naming the video and the path for a missing file, a
    channel count different from ``feature_dim`` and NaN/Inf values.

    Args:
        feature_dim (int, optional): overrides the dataset's ``feature_dim``.
        layout (str, optional): ``'TC'`` or ``'CT'``; overrides the dataset's.
    """

    def __init__(self, feature_dim: Optional[int] = None, layout: Optional[str] = None):
        self.feature_dim = feature_dim
        self.layout = layout

    def transform(self, results: dict) -> dict:
        start = stop = None
        if results.get('window_size') is not None and 'window_start_idx' in results:
            start = int(results['window_start_idx'])
            stop = start + int(results['window_size'])
        feature_dim = self.feature_dim if self.feature_dim is not None \
            else results.get('feature_dim')
        feat = load_feature(
            results['feature_path'], results.get('feature_format', 'npy'),
            key=results.get('feature_key'),
            layout=self.layout or results.get('feature_layout', 'TC'),
            start=start, stop=stop, video=results.get('raw_video_id', results['video_name']),
            feature_dim=feature_dim)
        results['raw_feature'] = feat.T.copy()
        results['feature_start_idx'] = start or 0
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(feature_dim={self.feature_dim}, layout={self.layout})'
