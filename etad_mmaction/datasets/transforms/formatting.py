"""Packing into the sample contract of ``docs/architecture.md``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData
from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample

CONTRACT_META_KEYS = ('video_name', 'sample_idx', 'num_snippets', 'duration',
                      'window_start', 'snippet_seconds', 'gt_video', 'classifier_scores')
REQUIRED_META_KEYS = CONTRACT_META_KEYS[:-1]
_CASTS = {'video_name': str, 'sample_idx': int, 'num_snippets': int, 'duration': float,
          'window_start': float, 'snippet_seconds': float}


@TRANSFORMS.register_module()
class PackTADInputs(BaseTransform):
    """Pack a sample: ``inputs`` float32 ``[C, T]`` and an ``ActionDataSample``
    whose ``gt_instances`` hold ``segments`` (float32 ``[N, 2]``, snippet units)
    and ``labels`` (int64 ``[N]``), with the metainfo keys of the contract
    (``classifier_scores`` only when the dataset has a classifier file).

    Video samples (end-to-end setting): when the results hold ``imgs`` and no
    ``raw_feature``, ``inputs`` is ``imgs`` as ``FormatShape(input_format=
    'NCTHW')`` left it, a tensor ``[M, C, T, H, W]`` of the same dtype (uint8
    or float32), with ``M == num_snippets``; the data sample is the same.

    Args:
        meta_keys (Sequence[str]): metainfo keys copied from the results; the
            default is exactly the contract. Extra keys (e.g.
            ``valid_snippets``) may be appended.
    """

    def __init__(self, meta_keys: Sequence[str] = CONTRACT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        video = 'raw_feature' not in results and 'imgs' in results
        if 'raw_feature' not in results and not video:
            raise KeyError('PackTADInputs needs "raw_feature" (add LoadTADFeature)')
        if 'gt_segments' not in results:
            raise KeyError('PackTADInputs needs "gt_segments" in snippet units: add '
                           'ResizeTADFeature or CropTADWindow before it')
        feat = self._video_inputs(results) if video \
            else np.asarray(results['raw_feature'], dtype=np.float32)
        segments = np.asarray(results['gt_segments'], dtype=np.float32).reshape(-1, 2)
        labels = results.get('gt_labels')
        labels = np.zeros((len(segments),), dtype=np.int64) if labels is None \
            else np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(labels) != len(segments):
            raise ValueError(f'{results.get("video_name")}: {len(segments)} segments but '
                             f'{len(labels)} labels')
        gt = InstanceData()
        gt.segments = torch.from_numpy(segments.copy())
        gt.labels = torch.from_numpy(labels.copy())
        sample = ActionDataSample()
        sample.gt_instances = gt
        meta = {}
        for key in self.meta_keys:
            if key not in results or results[key] is None:
                if key in REQUIRED_META_KEYS:
                    raise KeyError(f'PackTADInputs: "{key}" missing for video '
                                   f'{results.get("video_name")!r}')
                continue
            value = results[key]
            if key in _CASTS:
                value = _CASTS[key](value)
            elif key == 'classifier_scores':
                value = np.asarray(value, dtype=np.float32)
            elif key == 'gt_video':
                value = [[float(s), float(e), str(lab)] for s, e, lab in value]
            meta[key] = value
        sample.set_metainfo(meta)
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(feat)), data_samples=sample)

    @staticmethod
    def _video_inputs(results: dict) -> np.ndarray:
        imgs = np.asarray(results['imgs'])
        name = results.get('video_name')
        if imgs.ndim != 5:
            raise ValueError(f'PackTADInputs: imgs of video {name!r} must be [M, C, T, H, W] '
                             f'(add FormatShape(input_format="NCTHW")), got shape {imgs.shape}')
        num = results.get('num_snippets')
        if num is not None and imgs.shape[0] != int(num):
            raise ValueError(f'PackTADInputs: video {name!r} has {imgs.shape[0]} snippets in '
                             f'imgs {imgs.shape} but num_snippets={num} (one crop per snippet '
                             'expected)')
        return imgs

    def __repr__(self):
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
