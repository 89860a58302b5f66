"""THUMOS-14 feature dataset with sliding windows (paper App. B.1: "we sample
the features per 4 frames with fps 30, and utilize the sliding window approach
with window length 128 and stride 64")."""
from typing import List, Optional

from mmaction.registry import DATASETS

from .annotations import VideoRecord
from .features import FeatureError, feature_shape
from .tad_dataset import TADFeatureDataset
from .windows import window_ground_truth, window_starts


@DATASETS.register_module()
class ThumosFeatureDataset(TADFeatureDataset):
    """Sliding windows over fixed-stride snippet features; each window is one
    sample whose ``window_start`` / ``snippet_seconds`` map predictions back
    to video time (``t = window_start + u * snippet_seconds``).

    Feature ``i`` of a video sits at ``(i * snippet_stride +
    feature_offset_frames) / fps`` seconds, so ``snippet_seconds =
    snippet_stride / fps``. Windows start at ``0, stride, 2 * stride, ...``
    plus one aligned to the end of the video; a video shorter than a window
    gives one window padded at the end (``CropTADWindow``). Training
    (``test_mode=False``) drops windows without any kept action; testing keeps
    every window so that the whole video is covered.

    An action cut by a window is kept, clipped to the window, iff the clipped
    part is at least ``clip_keep_ratio`` of the action (default 0.5), see
    :func:`~etad_mmaction.datasets.windows.window_ground_truth`. Every action
    no longer than ``window_size - window_stride`` snippets lies wholly inside
    some window; the video-level ground truth stays in ``gt_video``.

    Args:
        window_size (int): snippets per window. Default 128.
        window_stride (int): window stride in snippets. Default 64.
        test_window_stride (int, optional): stride for ``test_mode``;
            defaults to ``window_stride``.
        snippet_stride (int): frames between consecutive features. Default 4.
        fps (float, optional): frame rate of the feature extraction; ``None``
            uses each video's ``fps`` from the annotation file (30 if absent).
        feature_offset_frames (float): frame of feature 0's snippet origin
            (e.g. to centre 16-frame clips); default 0.
        clip_keep_ratio (float): see above.
        **kwargs: see :class:`~etad_mmaction.datasets.TADFeatureDataset`.
    """

    def __init__(self, *args, window_size: int = 128, window_stride: int = 64,
                 test_window_stride: Optional[int] = None, snippet_stride: int = 4,
                 fps: Optional[float] = None, feature_offset_frames: float = 0.0,
                 clip_keep_ratio: float = 0.5, **kwargs):
        self.window_size = int(window_size)
        self.window_stride = int(window_stride)
        self.test_window_stride = int(test_window_stride or window_stride)
        self.snippet_stride = int(snippet_stride)
        self.fps = fps
        self.feature_offset_frames = float(feature_offset_frames)
        if not 0.0 < clip_keep_ratio <= 1.0:
            raise ValueError('clip_keep_ratio must be in (0, 1]')
        self.clip_keep_ratio = float(clip_keep_ratio)
        super().__init__(*args, **kwargs)

    def default_pipeline(self) -> List[dict]:
        return [dict(type='LoadTADFeature'), dict(type='CropTADWindow'),
                dict(type='PackTADInputs')]

    def video_samples(self, info: dict, rec: VideoRecord) -> List[dict]:
        length, channels = feature_shape(info['feature_path'], info['feature_format'],
                                         info['feature_key'], self.feature_layout,
                                         video=rec.raw_id)
        where = info['feature_path'] + (f'[{info["feature_key"]}]' if info['feature_key'] else '')
        if self.feature_dim is not None and channels != self.feature_dim:
            raise FeatureError(f'features of video {rec.raw_id!r} in {where} have dimension '
                               f'{channels}, but feature_dim={self.feature_dim} is configured')
        if length == 0:
            raise FeatureError(f'features of video {rec.raw_id!r} in {where} are empty')
        fps = float(self.fps or rec.fps or 30.0)
        step = self.snippet_stride / fps
        origin = self.feature_offset_frames / fps
        stride = self.test_window_stride if self.test_mode else self.window_stride
        out = []
        for start in window_starts(length, self.window_size, stride):
            window_start = origin + start * step
            if not self.test_mode:
                segs, _ = window_ground_truth(info['gt_segments_sec'], window_start, step,
                                              self.window_size, start, length,
                                              self.clip_keep_ratio)
                if len(segs) == 0:
                    continue
            sample = dict(info)
            sample.update(window_start_idx=start, window_size=self.window_size,
                          num_features=length, native_snippet_seconds=step,
                          feature_origin_sec=origin, window_start=window_start,
                          clip_keep_ratio=self.clip_keep_ratio, fps=fps)
            out.append(sample)
        return out
