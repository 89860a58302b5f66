"""Temporal transforms: rescaling to a fixed number of snippets (ActivityNet,
HACS) and cropping sliding windows (THUMOS-14), paper App. B.1."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from ..windows import RESCALE_MODES, rescale_features, seconds_to_snippets, window_ground_truth


def _labels(results, n):
    labels = results.get('gt_labels')
    if labels is None:
        return np.zeros((0,), dtype=np.int64) if n == 0 else None
    return np.asarray(labels, dtype=np.int64).reshape(-1)


@TRANSFORMS.register_module()
class ResizeTADFeature(BaseTransform):
    """Rescale ``raw_feature`` ``[C, L]`` to ``[C, T]`` along time and convert the
    ground truth to the rescaled axis (``u = seconds / duration * T``).

    Required keys: ``raw_feature``, ``duration``, ``gt_segments_sec``,
    ``gt_labels``, and ``num_snippets`` unless given here. Added/modified:
    ``raw_feature`` ``[C, T]``, ``num_snippets``, ``snippet_seconds``
    (``duration / T``), ``window_start`` (0), ``gt_segments`` (snippet units,
    float32 ``[N, 2]``), ``gt_labels``.

    Args:
        num_snippets (int, optional): T (128 for ActivityNet, 224 for HACS);
            defaults to the dataset's ``num_snippets``.
        mode (str): ``'average'`` (default: each output bin is the exact mean of
            the features it covers when downsampling, linear interpolation when
            upsampling), ``'linear'`` (always interpolate) or ``'roi_align'``
            (the authors' released rescaling); see
            :func:`~etad_mmaction.datasets.windows.rescale_features`.
        align_corners (bool): interpolation grid of linear interpolation, see
            :func:`~etad_mmaction.datasets.windows.interpolate_features`.
    """

    def __init__(self, num_snippets: Optional[int] = None, mode: str = 'average',
                 align_corners: bool = False):
        if mode not in RESCALE_MODES:
            raise ValueError(f'ResizeTADFeature.mode must be one of {RESCALE_MODES}, '
                             f'got {mode!r}')
        self.num_snippets = num_snippets
        self.mode = mode
        self.align_corners = align_corners

    def transform(self, results: dict) -> dict:
        num = int(self.num_snippets or results['num_snippets'])
        results['raw_feature'] = rescale_features(results['raw_feature'], num, self.mode,
                                                  self.align_corners)
        duration = float(results['duration'])
        seg_sec = np.asarray(results.get('gt_segments_sec', np.zeros((0, 2))),
                             dtype=np.float64).reshape(-1, 2)
        segments, keep = seconds_to_snippets(seg_sec, duration, num)
        labels = _labels(results, len(seg_sec))
        results['gt_segments'] = segments
        results['gt_labels'] = labels[keep] if labels is not None else None
        results['num_snippets'] = num
        results['snippet_seconds'] = duration / num
        results['window_start'] = 0.0
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_snippets={self.num_snippets}, '
                f'mode={self.mode!r}, align_corners={self.align_corners})')


@TRANSFORMS.register_module()
class CropTADWindow(BaseTransform):
    """Cut one sliding window out of a video's features, pad it to
    ``window_size`` and express the ground truth in window snippet units.

    Required keys (set by ``ThumosFeatureDataset``): ``raw_feature``,
    ``feature_start_idx``, ``window_start_idx``, ``window_size``,
    ``num_features`` (feature length of the whole video),
    ``native_snippet_seconds``, ``feature_origin_sec`` (time of feature 0),
    ``clip_keep_ratio``, ``gt_segments_sec``, ``gt_labels``. Added/modified:
    ``raw_feature`` ``[C, W]``, ``num_snippets`` (W), ``snippet_seconds``,
    ``window_start`` (seconds at snippet 0), ``valid_snippets``,
    ``gt_segments``, ``gt_labels``. Cut actions follow
    :func:`~etad_mmaction.datasets.windows.window_ground_truth`.

    Args:
        pad_value (float): value of padded snippets (videos shorter than a
            window and, never otherwise, the last window). Default 0.
    """

    def __init__(self, pad_value: float = 0.0):
        self.pad_value = pad_value

    def transform(self, results: dict) -> dict:
        start = int(results['window_start_idx'])
        size = int(results['window_size'])
        feat = results['raw_feature']
        offset = start - int(results.get('feature_start_idx', 0))
        feat = feat[:, offset:offset + size]
        valid = feat.shape[1]
        if valid < size:
            pad = np.full((feat.shape[0], size - valid), self.pad_value, dtype=np.float32)
            feat = np.concatenate([feat, pad], axis=1)
        results['raw_feature'] = np.ascontiguousarray(feat, dtype=np.float32)
        step = float(results['native_snippet_seconds'])
        window_start = float(results.get('feature_origin_sec', 0.0)) + start * step
        seg_sec = np.asarray(results.get('gt_segments_sec', np.zeros((0, 2))),
                             dtype=np.float64).reshape(-1, 2)
        segments, keep = window_ground_truth(
            seg_sec, window_start, step, size, start, int(results['num_features']),
            float(results.get('clip_keep_ratio', 0.5)))
        labels = _labels(results, len(seg_sec))
        results['gt_segments'] = segments
        results['gt_labels'] = labels[keep] if labels is not None else None
        results['num_snippets'] = size
        results['snippet_seconds'] = step
        results['window_start'] = window_start
        results['valid_snippets'] = valid
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(pad_value={self.pad_value})'
