"""Base class of the pre-extracted-feature TAD datasets (paper App. B.1)."""
import copy
import logging
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from mmaction.registry import TRANSFORMS

from .annotations import (VideoRecord, as_path, clean_records, load_id_list,
                          parse_annotation_file, resolve_classes)
from .classifier import load_classifier_scores
from .features import FeatureLocator
from ..evaluation.functional.video_ids import build_id_index, lookup_id


class TADFeatureDataset(BaseDataset):
    """Videos with pre-extracted snippet features and temporal ground truth.

    ``load_data_list`` parses the annotation file (format detected, see
    :mod:`.annotations`), keeps the requested subsets, repairs segments (clip to
    ``[0, duration]`` and drop zero-length ones, with warnings), skips videos
    without annotations unless ``test_mode``, finds every video's features
    (errors name the video and the paths tried) and attaches its classifier
    scores. Subclasses turn a video into samples (:meth:`video_samples`).

    Args:
        ann_file (str): annotation file (official ActivityNet/HACS json,
            BSN/MMAction2 ``anet_anno_*.json`` or ActionFormer THUMOS json).
        annotations (dict, optional): the content of such a file, in memory
            (``ann_file=''``), e.g. one video to run inference on.
        pipeline (list, optional): transforms; ``None`` uses the subclass's
            default pipeline (load -> rescale/crop -> pack).
        data_root (str): prefix of every relative path below.
        data_prefix (dict): ``feature`` (or MMAction2's ``video``): folder of
            per-video feature files, or one ``.h5``/``.hdf5`` file keyed by
            video id.
        subset (str | list[str], optional): subsets to keep (case-insensitive,
            e.g. ``'training'``, ``'validation'``; THUMOS ``'validation'`` /
            ``'test'``); ``None`` keeps all videos.
        subset_file (str, optional): csv with ``video`` and ``subset`` columns
            (``video_info_new.csv``) for annotation files without subsets.
        classes (str | list[str], optional): class order (list, or .txt/.csv/
            .json file); default: the file's order (``classes`` key or
            ``label_id``), else sorted label names. Exposed as
            ``metainfo['classes']``.
        feature_dim (int, optional): expected channels; checked on load.
        feature_ext (str): extension of per-video files: ``.npy``, ``.pt``,
            ``.csv`` (MMAction2 csv with header ``f0..fN``).
        feature_layout (str): ``'TC'`` (one row per temporal position,
            default) or ``'CT'``.
        classifier_file (str, optional): video-level classifier scores (see
            :mod:`.classifier`) put into ``classifier_scores``; every kept
            video must be in it.
        classifier_index (str | list, optional): row ids for an ``.npy``
            classifier file.
        exclude_videos (str | list, optional): ids (or a json/txt file such as
            ``blocked.json``) to leave out.
        min_segment_length (float): segments not longer than this (seconds,
            after clipping) are dropped. Default 0 (zero-length ones).
        min_action_ratio (float): training only (not ``test_mode``): drop the
            videos whose actions are all not longer than this fraction of the
            video (their actions are kept otherwise). Default 0 (off); the
            authors' released code uses 0.01 ("wrong annotations").
        synthetic (dict, optional): parameters of
            :func:`~etad_mmaction.datasets.synthetic.ensure_synthetic_dataset`;
            the dataset is generated under ``synthetic.get('root', data_root)``
            on first use.
        test_mode (bool): keep videos without annotations (evaluation).
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`
            (``metainfo``, ``serialize_data``, ``lazy_init``, ``indices`` ...).
    """

    def __init__(self,
                 ann_file: str = '',
                 pipeline: Optional[List[Union[dict, Callable]]] = None,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 subset: Union[str, Sequence[str], None] = None,
                 subset_file: Optional[str] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 feature_dim: Optional[int] = None,
                 feature_ext: str = '.npy',
                 feature_layout: str = 'TC',
                 classifier_file: Optional[str] = None,
                 classifier_index: Union[str, Sequence[str], None] = None,
                 exclude_videos: Union[str, Sequence[str], None] = None,
                 min_segment_length: float = 0.0,
                 min_action_ratio: float = 0.0,
                 synthetic: Optional[dict] = None,
                 test_mode: bool = False,
                 annotations: Optional[dict] = None,
                 **kwargs):
        if (annotations is None) == (not ann_file):
            raise ValueError('pass ann_file (a path) or annotations (its content), not '
                             f'{"both" if ann_file else "neither"}')
        self.annotations = annotations
        if feature_layout not in ('TC', 'CT'):
            raise ValueError(f"feature_layout must be 'TC' or 'CT', got {feature_layout!r}")
        if synthetic is not None:
            from .synthetic import ensure_synthetic_dataset
            params = dict(synthetic)
            root = params.pop('root', None) or data_root
            if not root:
                raise ValueError('synthetic=dict(...) needs data_root (or synthetic["root"])')
            ensure_synthetic_dataset(root, **params)
        self.subset = None if subset is None else (
            [subset.lower()] if isinstance(subset, str) else [s.lower() for s in subset])
        self.subset_file = as_path(subset_file, data_root)
        self.classes_spec = as_path(classes, data_root) if isinstance(classes, str) else classes
        self.feature_dim = None if feature_dim is None else int(feature_dim)
        self.feature_ext = feature_ext
        self.feature_layout = feature_layout
        self.classifier_file = as_path(classifier_file, data_root)
        self.classifier_index = as_path(classifier_index, data_root) \
            if isinstance(classifier_index, str) else classifier_index
        self.exclude_videos = as_path(exclude_videos, data_root) \
            if isinstance(exclude_videos, str) else exclude_videos
        self.min_segment_length = float(min_segment_length)
        if not 0.0 <= float(min_action_ratio) < 1.0:
            raise ValueError(f'min_action_ratio must be in [0, 1), got {min_action_ratio!r}')
        self.min_action_ratio = float(min_action_ratio)
        if pipeline is None:
            pipeline = self.default_pipeline()
        pipeline = [TRANSFORMS.build(copy.deepcopy(t)) if isinstance(t, dict) else t
                    for t in pipeline]
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(feature='') if data_prefix is None else data_prefix,
                         pipeline=pipeline, test_mode=test_mode, **kwargs)

    # -- hooks for subclasses -------------------------------------------------
    def default_pipeline(self) -> List[dict]:
        """Pipeline used when ``pipeline=None``."""
        return [dict(type='LoadTADFeature'), dict(type='PackTADInputs')]

    def video_samples(self, info: dict, rec: VideoRecord) -> List[dict]:
        """Samples (data infos) of one video; ``info`` holds the common keys."""
        return [info]

    # -- loading --------------------------------------------------------------
    def load_records(self) -> List[VideoRecord]:
        """Parse, select and clean the videos; sets ``metainfo['classes']``."""
        source = self.ann_file or 'annotations (in memory)'
        records, file_classes = parse_annotation_file(source, self.subset_file,
                                                      data=self.annotations)
        spec = self.classes_spec if self.classes_spec is not None \
            else self._metainfo.get('classes')
        classes = resolve_classes(records, file_classes, spec, source)
        self._metainfo['classes'] = tuple(classes)
        total = len(records)
        held = sorted({r.subset for r in records if r.subset is not None})
        not_in_subset = excluded_n = 0
        if self.subset is not None:
            if records and all(r.subset is None for r in records):
                raise ValueError(f'{source} has no subsets; pass subset_file (a csv '
                                 'with "video" and "subset" columns) or subset=None')
            kept = [r for r in records if r.subset in self.subset]
            not_in_subset, records = len(records) - len(kept), kept
        excluded = load_id_list(self.exclude_videos)
        if excluded:
            index = build_id_index(excluded)
            kept = [r for r in records if lookup_id(index, r.raw_id) is None]
            excluded_n, records = len(records) - len(kept), kept
        clean_records(records, source, self.min_segment_length)
        unlabelled = short_actions = 0
        if not self.test_mode:
            kept = [r for r in records if len(r.segments) > 0]
            unlabelled, records = len(records) - len(kept), kept
            if self.min_action_ratio > 0:   # the authors' filter of training videos
                kept = [r for r in records if any(
                    (e - s) > self.min_action_ratio * r.duration for s, e in r.segments)]
                short_actions, records = len(records) - len(kept), kept
        self._selection = dict(source=source, total=total, subsets=held, kept=len(records),
                               not_in_subset=not_in_subset, excluded=excluded_n,
                               unlabelled=unlabelled, short_actions=short_actions)
        self._log_selection()
        return records

    def selection_summary(self) -> Optional[str]:
        """How many videos of the annotation file were kept, and why the others
        were dropped (None before loading)."""
        sel = getattr(self, '_selection', None)
        if sel is None:
            return None
        subset = 'all subsets' if self.subset is None else f'subset {self.subset}'
        text = (f'{sel["kept"]} of the {sel["total"]} videos of {sel["source"]} kept '
                f'({subset}; the file holds subsets {sel["subsets"]})')
        dropped = []
        if sel['not_in_subset']:
            dropped.append(f'{sel["not_in_subset"]} not in {subset}')
        if sel['excluded']:
            dropped.append(f'{sel["excluded"]} in exclude_videos')
        if sel['unlabelled']:
            dropped.append(f'{sel["unlabelled"]} without annotations (kept only with '
                           'test_mode=True)')
        if sel.get('short_actions'):
            dropped.append(f'{sel["short_actions"]} whose actions are all <= '
                           f'{self.min_action_ratio} of the video (min_action_ratio)')
        if dropped:
            text += '; dropped: ' + ', '.join(dropped)
        return text

    def _log_selection(self) -> None:
        from mmengine.logging import print_log
        sel = self._selection
        if sel['kept'] and not (sel['excluded'] or sel['unlabelled'] or sel['short_actions']):
            return      # only the subset's selection: nothing to report
        level = logging.WARNING if sel['kept'] == 0 or sel['unlabelled'] else logging.INFO
        print_log(f'{type(self).__name__}: {self.selection_summary()}',
                  logger='current', level=level)

    def media_locator(self) -> Callable[[str], dict]:
        """``raw video id -> the data-info keys of its media``: here the feature
        source (path, HDF5 key, format, layout, channels); video datasets give
        the video file."""
        prefix = self.data_prefix.get('feature', self.data_prefix.get('video', '')) or '.'
        locator = FeatureLocator(prefix, self.feature_ext)

        def locate(raw_id: str) -> dict:
            path, key = locator.locate(raw_id)
            return dict(feature_path=path, feature_key=key, feature_format=locator.format,
                        feature_layout=self.feature_layout, feature_dim=self.feature_dim)
        return locate

    def load_data_list(self) -> List[dict]:
        records = self.load_records()
        classes = list(self._metainfo['classes'])
        label_of = {c: i for i, c in enumerate(classes)}
        locate = self.media_locator()
        scores = load_classifier_scores(self.classifier_file, classes, self.classifier_index)
        data_list = []
        for rec in records:
            info = dict(
                video_name=rec.video_name,
                raw_video_id=rec.raw_id,
                subset=rec.subset,
                duration=float(rec.duration),
                fps=rec.fps,
                **locate(rec.raw_id),
                gt_segments_sec=np.asarray(rec.segments, dtype=np.float64).reshape(-1, 2),
                gt_labels=np.asarray([label_of[n] for n in rec.labels], dtype=np.int64),
                gt_video=[[float(s), float(e), n] for (s, e), n in zip(rec.segments, rec.labels)],
            )
            if scores is not None:
                info['classifier_scores'] = scores.get(rec.raw_id)
            data_list.extend(self.video_samples(info, rec))
        return data_list

    def _serialize_data(self):
        # mmengine cannot serialise an empty list (np.concatenate of nothing);
        # an empty selection (e.g. the unlabelled testing subset with
        # test_mode=False) is a valid, empty dataset.
        if not self.data_list:
            return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
        return super()._serialize_data()

    def __repr__(self):
        n = len(self) if self._fully_initialized else 'not loaded'
        return (f'{self.__class__.__name__}(ann_file={self.ann_file or "<in memory>"!r}, '
                f'samples={n}, '
                f'subset={self.subset}, test_mode={self.test_mode})')

