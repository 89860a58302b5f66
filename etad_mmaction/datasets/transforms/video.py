"""Transforms of the end-to-end (raw video) setting (paper Sec. 3.2.1, App. B.1 /
E): a video, or a window of it, becomes ``M`` snippets of ``T`` frames each,
which MMAction2's stock ``DecordDecode`` (or :class:`TADDecordDecode`), spatial
transforms and ``FormatShape(input_format='NCTHW')`` turn into ``imgs``
``[M, C, T, H, W]``; ``PackTADInputs`` packs them as ``inputs``.

Typical pipeline::

    [dict(type='TADDecordInit'), dict(type='SampleSnippets', clip_len=8),
     dict(type='TADDecordDecode'), dict(type='Resize', scale=(-1, 256)),
     dict(type='RandomCrop', size=224), dict(type='FormatShape', input_format='NCTHW'),
     dict(type='PackTADInputs')]
"""
from typing import Dict, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmaction.datasets.transforms import DecordDecode, DecordInit
from mmaction.registry import TRANSFORMS

from ...models.samplers.seeding import hashed_uniforms, sampling_seed


class VideoReadError(RuntimeError):
    """A video file exists but cannot be opened or decoded."""


def _who(results: dict) -> str:
    name = results.get('video_name')
    return f' (video {name!r})' if name is not None else ''


@TRANSFORMS.register_module()
class SampleSnippets(BaseTransform):
    """Frame indices of ``M`` snippets of ``T`` frames each.

    Whole video (the default): a video of ``N = total_frames`` frames is cut
    into ``M`` equal parts; snippet ``i`` covers frames ``[i * N / M,
    (i + 1) * N / M)`` and its clip is centred at ``c_i = (i + 0.5) * N / M``:
    frame ``j`` of the clip (``0 <= j < T``) is ``floor(c_i + (j - (T - 1) / 2)
    * s)`` with ``s`` the frame interval. This matches the ground truth in
    snippet units ``u = t / duration * M`` of ``ActivityNetVideoDataset``.

    Window (set by ``ThumosVideoDataset``): when the results hold
    ``window_start_frame`` and ``window_num_frames`` the same is done on
    ``[window_start_frame, window_start_frame + window_num_frames)`` instead
    of ``[0, N)``. These are frames at the dataset's frame rate ``fps``; when
    the results also hold the decoder's ``avg_fps`` (``DecordInit``) and it
    differs, positions are rescaled by ``avg_fps / fps`` so that snippet ``i``
    shows the time ``window_start + (i + 0.5) * snippet_seconds``. Adds
    ``valid_snippets``: snippets that start inside the video (the rest, only
    for a video shorter than one window, repeat the last frame).

    Indices are clipped to ``[0, N - 1]``: a video shorter than ``M * T``
    frames (or a clip reaching past either end) repeats frames, i.e. clips of
    neighbouring snippets overlap and, below ``M`` frames, several snippets
    show the same frames; the output is always ``M * T`` valid indices.
    Indices are non-decreasing within a clip but may go back between
    overlapping clips (``TADDecordDecode`` decodes every frame once).

    Temporal jitter (App. F, Table 12; training only, off by default):
    ``jitter='snippet'`` shifts each snippet's clip by one offset drawn
    uniformly in ``[-step / 2, step / 2)`` (``step = span / M``, the stride
    between snippets); ``jitter='frame'`` shifts each frame of a clip by its
    own offset in ``[-interval / 2, interval / 2)`` (the stride between the
    frames of a clip; TSN-style segment sampling when ``frame_interval`` is
    ``None``). ``'frame'`` needs ``frame_interval`` >= 2 or ``None``: dense
    clips (interval 1, e.g. the R(2+1)D / SlowOnly configs) have no room
    between their frames, the offsets would move a frame by at most one (none
    at all for even ``clip_len`` on an even snippet stride), so it is refused;
    use ``'snippet'`` there. With ``None`` the interval is clamped to 1 for a
    video shorter than ``M * T`` frames, where the frame jitter therefore
    does (almost) nothing. The offsets are :func:`~etad_mmaction.models.
    samplers.seeding.hashed_uniforms` of the key ``sampling_seed(seed, epoch,
    sample_idx, 'jitter')``: the same draws after a resume, on any rank or
    worker. ``sample_idx`` is the index in the video dataset itself, so the
    copies of a video in a ``RepeatDataset`` draw the same offsets within an
    epoch (they differ between epochs). No jitter when the results'
    ``test_mode`` is true (validation, test). ``valid_snippets`` is computed
    without jitter.

    Required keys: ``total_frames``; optional ``num_snippets`` (set by the
    datasets), ``window_start_frame``, ``window_num_frames``, ``fps``,
    ``avg_fps``; with ``jitter``: ``sampling_seed``, ``sampling_epoch``,
    ``sample_idx`` (set by the video datasets), ``test_mode``. Added keys:
    ``frame_inds`` (int64 ``[M * T]``), ``clip_len``
    (T), ``num_clips`` (M), ``frame_interval``, ``num_snippets`` (M), and
    ``valid_snippets``.

    Args:
        num_snippets (int, optional): M; defaults to the results'
            ``num_snippets`` (the dataset's). If both are given they must
            agree, since the ground truth is in units of the dataset's M.
        clip_len (int): T, frames per snippet. Default 1.
        frame_interval (int, optional): frames between sampled frames of a
            clip. ``None`` spreads the ``T`` frames over the snippet's span
            (interval ``span / T``, at least 1; TSN/TSM-style segment
            sampling). Default 1.
        jitter (str, optional): ``None`` (default), ``'snippet'`` or
            ``'frame'`` (needs ``frame_interval`` >= 2 or ``None``), see above.
    """

    JITTERS = (None, 'snippet', 'frame')

    def __init__(self, num_snippets: Optional[int] = None, clip_len: int = 1,
                 frame_interval: Optional[int] = 1, jitter: Optional[str] = None):
        if jitter not in self.JITTERS:
            raise ValueError(f'SampleSnippets: jitter must be one of {self.JITTERS}, '
                             f'got {jitter!r}')
        self.jitter = jitter
        if num_snippets is not None and int(num_snippets) <= 0:
            raise ValueError(f'num_snippets must be positive, got {num_snippets}')
        if int(clip_len) <= 0:
            raise ValueError(f'clip_len must be positive, got {clip_len}')
        if frame_interval is not None and int(frame_interval) <= 0:
            raise ValueError(f'frame_interval must be positive or None, got {frame_interval}')
        self.num_snippets = None if num_snippets is None else int(num_snippets)
        self.clip_len = int(clip_len)
        self.frame_interval = None if frame_interval is None else int(frame_interval)
        if jitter == 'frame' and self.frame_interval is not None and self.frame_interval < 2:
            raise ValueError(
                f"SampleSnippets: jitter='frame' needs frame_interval >= 2 or None, got "
                f'frame_interval={self.frame_interval} (clip_len={self.clip_len}): the '
                'frames of a dense clip cannot move within their stride; use '
                "jitter='snippet'")

    def _num_snippets(self, results: dict) -> int:
        given = results.get('num_snippets')
        if self.num_snippets is None:
            if given is None:
                raise KeyError('SampleSnippets needs num_snippets (argument or from the '
                               'dataset)' + _who(results))
            return int(given)
        if given is not None and int(given) != self.num_snippets:
            raise ValueError(f'SampleSnippets(num_snippets={self.num_snippets}) but the '
                             f'dataset gives num_snippets={given}{_who(results)}: the ground '
                             'truth is in units of the dataset\'s snippets')
        return self.num_snippets

    def transform(self, results: Dict) -> Dict:
        if 'total_frames' not in results:
            raise KeyError('SampleSnippets needs "total_frames" (add DecordInit before it)'
                           + _who(results))
        total = int(results['total_frames'])
        if total <= 0:
            raise VideoReadError(f'video {results.get("filename")!r}{_who(results)} has no '
                                 'frames')
        m = self._num_snippets(results)
        windowed = results.get('window_start_frame') is not None \
            and results.get('window_num_frames') is not None
        if windowed:
            start = float(results['window_start_frame'])
            span = float(results['window_num_frames'])
            fps, avg_fps = results.get('fps'), results.get('avg_fps')
            if fps and avg_fps and float(fps) > 0 and float(avg_fps) > 0:
                scale = float(avg_fps) / float(fps)
                start, span = start * scale, span * scale
        else:
            start, span = 0.0, float(total)
        step = span / m
        centres = start + (np.arange(m, dtype=np.float64) + 0.5) * step
        interval = self.frame_interval if self.frame_interval is not None \
            else max(step / self.clip_len, 1.0)
        offsets = (np.arange(self.clip_len, dtype=np.float64) - (self.clip_len - 1) / 2.0) \
            * interval
        pos = centres[:, None] + offsets[None, :]
        if self.jitter is not None and not results.get('test_mode', False):
            u = self._jitter_uniforms(results, pos.size) - 0.5
            if self.jitter == 'snippet':
                pos = pos + u[:m, None] * step
            else:
                pos = pos + u.reshape(pos.shape) * interval
        inds = np.floor(pos + 1e-6).astype(np.int64)
        results['frame_inds'] = np.clip(inds, 0, total - 1).reshape(-1)
        results['clip_len'] = self.clip_len
        results['num_clips'] = m
        results['frame_interval'] = self.frame_interval if self.frame_interval is not None \
            else float(interval)
        results['num_snippets'] = m
        starts = start + np.arange(m, dtype=np.float64) * step
        results['valid_snippets'] = int(np.count_nonzero(starts < total - 1e-6)) \
            if windowed else m
        return results

    def _jitter_uniforms(self, results: dict, n: int) -> np.ndarray:
        """``n`` uniforms in ``[0, 1)`` keyed by (seed, epoch, sample index)."""
        missing = [k for k in ('sampling_seed', 'sampling_epoch', 'sample_idx')
                   if results.get(k) is None]
        if missing:
            raise KeyError(f'SampleSnippets(jitter={self.jitter!r}) needs {missing} in the '
                           f'results{_who(results)}: use a TAD video dataset (it sets them; '
                           'ETADSamplingHook gives it the seed and epoch)')
        key = sampling_seed(results['sampling_seed'], results['sampling_epoch'],
                            results['sample_idx'], 'jitter')
        return hashed_uniforms(torch.tensor(key), torch.arange(n),
                               dtype=torch.float64).numpy()

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_snippets={self.num_snippets}, '
                f'clip_len={self.clip_len}, frame_interval={self.frame_interval}, '
                f'jitter={self.jitter!r})')


@TRANSFORMS.register_module()
class TADDecordInit(DecordInit):
    """``DecordInit`` whose errors name the file (and the video): stock
    ``DecordInit`` raises a bare ``FileNotFoundError(2, ...)`` for a missing
    file and ``RuntimeError('Error reading N bytes...')`` for an unreadable
    one, without the path.

    Also sets ``start_index = 0`` when absent (decoded frames count from 0), which
    MMAction2's ``SampleFrames`` reads.

    Raises:
        FileNotFoundError: the file does not exist.
        VideoReadError: decord cannot open it, or it has no frames.
    """

    def transform(self, results: Dict) -> Dict:
        filename = results['filename']
        results.setdefault('start_index', 0)
        try:
            results = super().transform(results)
        except FileNotFoundError as err:
            raise FileNotFoundError(f'video file not found: {filename}{_who(results)}') \
                from err
        except Exception as err:  # decord raises RuntimeError / DECORDError
            raise VideoReadError(f'cannot read video file {filename}{_who(results)}: '
                                 f'{type(err).__name__}: {err}') from err
        if results['total_frames'] <= 0:
            raise VideoReadError(f'video file {filename}{_who(results)} has no frames')
        return results


@TRANSFORMS.register_module()
class TADDecordDecode(DecordDecode):
    """``DecordDecode`` that decodes every distinct frame once, in increasing
    order, and then gathers the requested (possibly repeated, overlapping)
    indices; same output as the stock transform. Decoding errors name the
    file and the video.

    Args:
        mode (str): ``'accurate'`` (default) or ``'efficient'``, see
            ``DecordDecode``.
    """

    def _decord_load_frames(self, container, frame_inds):
        frame_inds = np.asarray(frame_inds, dtype=np.int64)
        uniq, inverse = np.unique(frame_inds, return_inverse=True)
        frames = super()._decord_load_frames(container, uniq)
        # A repeated index (short video) gets its own copy: stock transforms such as
        # Flip work in place and would otherwise change a shared frame twice.
        out, seen = [], set()
        for i in inverse.reshape(-1).tolist():
            out.append(frames[i].copy() if i in seen else frames[i])
            seen.add(i)
        return out

    def transform(self, results: Dict) -> Dict:
        try:
            return super().transform(results)
        except Exception as err:
            raise VideoReadError(f'cannot decode frames of video file '
                                 f'{results.get("filename")}{_who(results)}: '
                                 f'{type(err).__name__}: {err}') from err
