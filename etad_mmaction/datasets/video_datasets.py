"""Raw-video datasets for end-to-end training (paper Sec. 3.2.1, App. B.1, E):
the annotation handling of the feature datasets, with video files instead of
feature files and the ground truth already in snippet units.

Sample keys (besides the contract's ``video_name``, ``duration``,
``num_snippets``, ``window_start``, ``snippet_seconds``, ``gt_video``,
``classifier_scores``): ``filename`` (for ``DecordInit``), ``modality``
(``'RGB'``, for MMAction2's ``Flip``), ``gt_segments``
(float32 ``[N, 2]``, snippet units), ``gt_labels``, and for THUMOS windows
``window_start_frame`` / ``window_num_frames`` (read by ``SampleSnippets``).
"""
import math
import os.path as osp
from typing import List, Optional

import torch

from mmaction.registry import DATASETS

from .activitynet import ActivityNetFeatureDataset
from .annotations import VideoRecord
from .thumos import ThumosFeatureDataset
from ..evaluation.functional.video_ids import video_id_candidates
from .windows import seconds_to_snippets, window_ground_truth, window_starts


class TADVideoDatasetMixin:
    """Turns a :class:`TADFeatureDataset` subclass into a video dataset:
    ``load_data_list`` keeps the parent's annotation parsing (subsets,
    segment repair, classes, exclusions, classifier scores) and locates
    ``{data_prefix['video']}/{id}{suffix}`` (``id`` tried in the spellings of
    :func:`~etad_mmaction.evaluation.functional.video_ids.video_id_candidates`, e.g. with
    and without ``v_``). A missing file raises ``FileNotFoundError`` naming the
    video and the paths tried.

    Every sample also holds ``sampling_seed`` and ``sampling_epoch`` (set by
    ``ETADSamplingHook`` through :meth:`set_sampling_state` before each training
    epoch) and ``test_mode``: the keys of the seeded augmentations of the
    pipeline (``SampleSnippets(jitter=...)``). They live in shared memory, so
    persistent dataloader workers see each new epoch.

    Args:
        suffix (str): video file extension. Default ``'.mp4'``.
        data_prefix (dict): ``video``: folder of the video files.
    """

    def __init__(self, *args, suffix: str = '.mp4', data_prefix: Optional[dict] = None,
                 **kwargs):
        self.suffix = suffix if not suffix or suffix.startswith('.') else '.' + suffix
        # (seed, epoch), shared with the dataloader workers (also persistent ones)
        self._sampling_state = torch.zeros(2, dtype=torch.long).share_memory_()
        super().__init__(*args, data_prefix=dict(video='') if data_prefix is None
                         else data_prefix, **kwargs)

    def set_sampling_state(self, seed: Optional[int] = None,
                           epoch: Optional[int] = None) -> None:
        """The run seed and the epoch that seed the pipeline's random draws
        (called by ``ETADSamplingHook`` before every training epoch)."""
        if seed is not None:
            self._sampling_state[0] = int(seed)
        if epoch is not None:
            self._sampling_state[1] = int(epoch)

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        seed, epoch = self._sampling_state.tolist()
        info.update(sampling_seed=int(seed), sampling_epoch=int(epoch),
                    test_mode=bool(self.test_mode))
        return info

    def default_pipeline(self) -> List[dict]:
        return [dict(type='TADDecordInit'), dict(type='SampleSnippets', clip_len=8),
                dict(type='TADDecordDecode'), dict(type='Resize', scale=(-1, 256)),
                dict(type='CenterCrop', crop_size=224),
                dict(type='FormatShape', input_format='NCTHW'), dict(type='PackTADInputs')]

    def video_folder(self) -> str:
        folder = self.data_prefix.get('video', self.data_prefix.get('feature', '')) or '.'
        if not osp.isdir(folder):
            raise FileNotFoundError(f'video folder not found: {folder}')
        return folder

    def locate_video(self, folder: str, raw_id: str) -> str:
        tried = []
        for name in video_id_candidates(raw_id):
            path = osp.join(folder, name + self.suffix)
            if osp.isfile(path):
                return path
            tried.append(path)
        raise FileNotFoundError(f'video file of video {raw_id!r} not found: tried '
                                + ', '.join(tried))

    def media_locator(self):
        folder = self.video_folder()
        # ``modality`` is read by MMAction2's Flip
        return lambda raw_id: dict(filename=self.locate_video(folder, raw_id), modality='RGB')


@DATASETS.register_module()
class ActivityNetVideoDataset(TADVideoDatasetMixin, ActivityNetFeatureDataset):
    """ActivityNet-1.3 (or HACS with ``num_snippets=224``) from video files:
    one sample per video, the whole video is ``num_snippets`` snippets
    (``SampleSnippets``), ``snippet_seconds = duration / M``,
    ``window_start = 0`` and ``gt_segments = seconds / duration * M``.

    Args:
        num_snippets (int): M. Default 128.
        suffix (str): video file extension. Default ``'.mp4'``.
        **kwargs: see :class:`~etad_mmaction.datasets.TADFeatureDataset`
            (``ann_file``, ``subset``, ``subset_file``, ``classes``,
            ``classifier_file``, ``exclude_videos``, ``test_mode`` ...);
            ``data_prefix=dict(video=...)``. The feature options are unused.

    Example::

        dict(type='ActivityNetVideoDataset', data_root='data/anet',
             ann_file='activity_net.v1-3.min.json', subset='training',
             data_prefix=dict(video='videos'), num_snippets=128, pipeline=...)
    """

    def video_samples(self, info: dict, rec: VideoRecord) -> List[dict]:
        m = self.num_snippets
        segments, keep = seconds_to_snippets(info['gt_segments_sec'], info['duration'], m)
        info.update(num_snippets=m, window_start=0.0, snippet_seconds=info['duration'] / m,
                    gt_segments=segments, gt_labels=info['gt_labels'][keep])
        return [info]


@DATASETS.register_module()
class ThumosVideoDataset(TADVideoDatasetMixin, ThumosFeatureDataset):
    """THUMOS-14 from video files, in sliding windows of ``window_size``
    snippets (paper App. E), laid out like :class:`ThumosFeatureDataset`.

    A video of ``duration`` seconds at ``fps`` (argument, else the annotation's
    ``fps``, else 30) has ``N = round(duration * fps)`` frames and ``L =
    ceil(N / snippet_stride)`` snippets; snippet ``k`` covers frames ``[k *
    s, (k + 1) * s)`` (``s = snippet_stride``, shifted by
    ``feature_offset_frames``), i.e. ``snippet_seconds = s / fps``. Windows
    start at ``0, window_stride, ...`` plus one aligned to the end
    (:func:`~etad_mmaction.datasets.windows.window_starts`); training keeps
    windows with at least one action (cut actions kept iff at least
    ``clip_keep_ratio`` of them is inside), testing keeps every window
    (``test_window_stride``) so the whole video is covered.
    ``window_start`` (seconds) and ``snippet_seconds`` map predictions back to
    video time and the metric merges the windows of a video. Each sample holds
    ``window_start_frame`` / ``window_num_frames`` for ``SampleSnippets``.

    Args:
        window_size (int): M, snippets per window. Default 128.
        window_stride (int): in snippets. Default 64.
        test_window_stride (int, optional): for ``test_mode``.
        snippet_stride (int): frames per snippet. Default 4.
        fps (float, optional): frame rate of the videos; ``None`` uses each
            video's annotated ``fps`` (30 if absent). ``SampleSnippets``
            rescales to the decoder's ``avg_fps`` if they differ.
        feature_offset_frames (float): frame where snippet 0 starts. Default 0.
        clip_keep_ratio (float): see :class:`ThumosFeatureDataset`.
        suffix (str): video file extension. Default ``'.mp4'``.
        **kwargs: see :class:`~etad_mmaction.datasets.TADFeatureDataset`.
    """

    def video_samples(self, info: dict, rec: VideoRecord) -> List[dict]:
        fps = float(self.fps or rec.fps or 30.0)
        num_frames = max(int(round(float(rec.duration) * fps)), 1)
        length = max(int(math.ceil(num_frames / self.snippet_stride - 1e-9)), 1)
        step = self.snippet_stride / fps
        origin = self.feature_offset_frames / fps
        stride = self.test_window_stride if self.test_mode else self.window_stride
        out = []
        for start in window_starts(length, self.window_size, stride):
            window_start = origin + start * step
            segs, keep = window_ground_truth(info['gt_segments_sec'], window_start, step,
                                             self.window_size, start, length,
                                             self.clip_keep_ratio)
            if not self.test_mode and len(segs) == 0:
                continue
            sample = dict(info)
            sample.update(
                fps=fps, num_frames=num_frames, num_features=length,
                num_snippets=self.window_size, window_size=self.window_size,
                window_start_idx=start, window_start=window_start, snippet_seconds=step,
                native_snippet_seconds=step,
                window_start_frame=self.feature_offset_frames + start * self.snippet_stride,
                window_num_frames=float(self.window_size * self.snippet_stride),
                valid_snippets=min(self.window_size, length - start),
                clip_keep_ratio=self.clip_keep_ratio,
                gt_segments=segs, gt_labels=info['gt_labels'][keep])
            out.append(sample)
        return out


__all__ = ['TADVideoDatasetMixin', 'ActivityNetVideoDataset', 'ThumosVideoDataset']
