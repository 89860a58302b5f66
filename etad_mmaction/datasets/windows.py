"""Temporal-axis arithmetic shared by the datasets, the transforms and the
synthetic generator: rescaling of feature sequences to a fixed length
(ActivityNet/HACS) and sliding windows (THUMOS-14), paper App. B.1.

Snippet units: snippet ``j`` of a ``T``-snippet axis covers ``[j, j + 1)``, so a
time ``t`` (seconds) maps to ``(t - window_start) / snippet_seconds`` and back
with ``t = window_start + u * snippet_seconds``.
"""
from typing import List, Sequence, Tuple

import numpy as np


def interpolate_features(feature: np.ndarray, num_snippets: int,
                         align_corners: bool = False) -> np.ndarray:
    """Linearly interpolate ``[C, L]`` features along time to ``[C, T]``.

    With ``align_corners=False`` (default) sample ``j`` of the output sits at
    the centre of snippet ``j``, i.e. at source position
    ``(j + 0.5) * L / T - 0.5`` clamped to ``[0, L - 1]`` (the convention of
    ``torch.nn.functional.interpolate(mode='linear')``); both sequences then
    cover the same time span ``[0, duration]``. With ``align_corners=True``
    the first and last samples coincide: ``j * (L - 1) / (T - 1)``.
    """
    feature = np.asarray(feature)
    if feature.ndim != 2:
        raise ValueError(f'expected [C, L] features, got shape {feature.shape}')
    num_snippets = int(num_snippets)
    length = feature.shape[1]
    if length == num_snippets:
        return feature.astype(np.float32, copy=True)
    j = np.arange(num_snippets, dtype=np.float64)
    if align_corners:
        pos = j * (length - 1) / max(num_snippets - 1, 1)
    else:
        pos = (j + 0.5) * length / num_snippets - 0.5
    pos = np.clip(pos, 0.0, length - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, length - 1)
    w = (pos - lo).astype(np.float32)
    out = feature[:, lo] * (1.0 - w) + feature[:, hi] * w
    return out.astype(np.float32, copy=False)


RESCALE_MODES = ('average', 'linear', 'roi_align')


def average_features(feature: np.ndarray, num_snippets: int) -> np.ndarray:
    """Exact mean of ``[C, L]`` features over each of ``T`` equal output bins.

    Source snippet ``i`` covers ``[i, i + 1)`` and holds a constant feature;
    output bin ``j`` covers ``[j L / T, (j + 1) L / T)`` and is the integral of
    that piecewise-constant signal over the bin divided by its length (float64
    prefix sums). With ``L = kT`` this is the plain mean of ``k`` snippets; no
    source snippet is skipped (point sampling aliases when ``L > T``).
    """
    feature = np.asarray(feature, dtype=np.float64)
    length = feature.shape[1]
    csum = np.concatenate([np.zeros((feature.shape[0], 1)), feature.cumsum(axis=1)], axis=1)

    def integral(x):                                     # int_0^x of the signal, x in [0, L]
        i = np.minimum(np.floor(x).astype(np.int64), length - 1)
        return csum[:, i] + (x - i) * feature[:, i]

    edges = np.arange(num_snippets + 1, dtype=np.float64) * length / num_snippets
    edges[-1] = length
    out = (integral(edges[1:]) - integral(edges[:-1])) / (length / num_snippets)
    return out.astype(np.float32)


def roi_align_features(feature: np.ndarray, num_snippets: int,
                       round_to_half: bool = True) -> np.ndarray:
    """The authors' rescaling (released ETAD code): one temporal RoI over the whole
    sequence, ``roi_align(aligned=True)`` with adaptive sampling, in float64.

    Output bin ``j`` (width ``b = L / T``) averages ``g = ceil(L / T)`` bilinear
    samples at ``-0.5 + j b + (k + 0.5) b / g``; samples are clamped at 0 and at
    ``L - 1`` (feature ``i`` sits at position ``i``). ``round_to_half``: the
    authors cast the features and the RoI to float16 before float64, which this
    reproduces. Equals :func:`average_features` when ``L`` is a multiple of ``T``
    (up to the float16 rounding).
    """
    feature = np.asarray(feature, dtype=np.float64)
    length = feature.shape[1]
    if round_to_half:
        feature = feature.astype(np.float16).astype(np.float64)
        span = float(np.float16(length))
    else:
        span = float(length)
    bin_size = span / num_snippets
    grid = int(np.ceil(span / num_snippets))
    k = (np.arange(grid, dtype=np.float64) + 0.5) * bin_size / grid
    y = -0.5 + np.arange(num_snippets, dtype=np.float64)[:, None] * bin_size + k[None]
    inside = (y >= -1.0) & (y <= length)
    y = np.maximum(y, 0.0)
    lo = np.floor(y).astype(np.int64)
    at_end = lo >= length - 1
    lo = np.where(at_end, length - 1, lo)
    hi = np.where(at_end, length - 1, lo + 1)
    frac = np.where(at_end, 0.0, y - lo) * inside
    keep = inside.astype(np.float64)
    value = feature[:, lo] * (keep - frac) + feature[:, hi] * frac    # [C, T, g]
    return (value.sum(axis=2) / grid).astype(np.float32)


def rescale_features(feature: np.ndarray, num_snippets: int, mode: str = 'average',
                     align_corners: bool = False) -> np.ndarray:
    """Rescale ``[C, L]`` features to ``[C, T]``.

    ``mode``: ``'average'`` (default) averages each output bin exactly when
    ``L > T`` (:func:`average_features`) and interpolates linearly when
    ``L < T``; ``'linear'`` always interpolates (:func:`interpolate_features`,
    ``align_corners``); ``'roi_align'`` is the authors' released rescaling
    (:func:`roi_align_features`).
    """
    feature = np.asarray(feature)
    if feature.ndim != 2:
        raise ValueError(f'expected [C, L] features, got shape {feature.shape}')
    if mode not in RESCALE_MODES:
        raise ValueError(f'rescale mode must be one of {RESCALE_MODES}, got {mode!r}')
    num_snippets = int(num_snippets)
    if mode == 'roi_align':
        return roi_align_features(feature, num_snippets)
    if feature.shape[1] == num_snippets:
        return feature.astype(np.float32, copy=True)
    if mode == 'average' and feature.shape[1] > num_snippets:
        return average_features(feature, num_snippets)
    return interpolate_features(feature, num_snippets, align_corners)


def seconds_to_snippets(segments: np.ndarray, duration: float, num_snippets: int
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Whole-video axis: ``u = t / duration * T`` clipped to ``[0, T]``.
    Returns ``(segments [M, 2] float32, kept index)`` without zero-length ones."""
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    out = np.clip(seg / float(duration) * num_snippets, 0.0, float(num_snippets))
    keep = np.flatnonzero(out[:, 1] > out[:, 0])
    return out[keep].astype(np.float32), keep


def window_starts(num_features: int, window_size: int, stride: int) -> List[int]:
    """Start indices of sliding windows covering ``num_features`` snippets:
    ``0, stride, 2 * stride, ...`` while the window fits, plus a last window
    aligned to the end of the video when the regular ones stop short of it.
    A video shorter than one window gives the single start 0 (the window is
    padded)."""
    num_features, window_size, stride = int(num_features), int(window_size), int(stride)
    if stride <= 0 or window_size <= 0:
        raise ValueError('window_size and stride must be positive')
    if num_features <= window_size:
        return [0]
    starts = list(range(0, num_features - window_size + 1, stride))
    if starts[-1] + window_size < num_features:
        starts.append(num_features - window_size)
    return starts


def window_ground_truth(segments: np.ndarray, window_start: float, snippet_seconds: float,
                        window_size: int, start_index: int, num_features: int,
                        keep_ratio: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Ground truth of one window, in the window's snippet units.

    ``segments`` are seconds of the video; ``window_start`` is the time of the
    window's snippet 0 and ``start_index`` its first feature index. The valid
    part of the window is ``[0, min(window_size, num_features - start_index))``
    (the rest is padding). Rule for actions cut by the window: a segment is
    first limited to the part of the video covered by features; it is kept,
    clipped to the valid part of the window, iff the clipped part is at least
    ``keep_ratio`` of that length (``keep_ratio=1`` keeps only actions wholly
    inside the window; a tiny epsilon absorbs float error). Returns
    ``(segments [M, 2] float32, kept index)``.
    """
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    rel = (seg - float(window_start)) / float(snippet_seconds)
    valid = float(min(window_size, num_features - start_index))
    full = np.stack([np.maximum(rel[:, 0], -float(start_index)),
                     np.minimum(rel[:, 1], float(num_features - start_index))], axis=1)
    full_len = full[:, 1] - full[:, 0]
    clip = np.clip(full, 0.0, valid)
    clip_len = clip[:, 1] - clip[:, 0]
    keep = (full_len > 0) & (clip_len > 0) & (clip_len >= keep_ratio * full_len - 1e-6)
    idx = np.flatnonzero(keep)
    return clip[idx].astype(np.float32), idx


def snippets_to_seconds(segments: np.ndarray, window_start: float, snippet_seconds: float
                        ) -> np.ndarray:
    """Inverse mapping: ``t = window_start + u * snippet_seconds``."""
    return float(window_start) + np.asarray(segments, dtype=np.float64) * float(snippet_seconds)


def covering_windows(segment_snippets: Sequence[float], starts: Sequence[int],
                     window_size: int) -> List[int]:
    """Indices of the windows (given by their starts) that wholly contain a
    segment given in video snippet units."""
    s, e = segment_snippets
    return [i for i, st in enumerate(starts) if st <= s + 1e-9 and e <= st + window_size + 1e-9]
