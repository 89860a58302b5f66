"""Small models, inputs and files for tests and quick checks (as ``mmdet.testing``):
a detector at toy sizes, data samples with ground truth, annotation and feature
files, a tiny MMAction2 recognizer, and the tools shipped with the package."""
import importlib.util
import json
import os
import os.path as osp
import sys
from typing import Optional

import numpy as np
import torch
from mmengine.structures import InstanceData

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

#: snippets and feature channels of :func:`small_model`'s inputs
T, C = 16, 8


def make_samples(b: int = 2, t: int = T, segments=((2., 6.), (9., 14.)),
                 first_index: int = 0) -> list:
    """``b`` data samples of ``t`` snippets with the same ground truth
    ``segments`` (snippets), video names ``vid<i>`` and ``sample_idx`` ``i``."""
    samples = []
    for i in range(first_index, first_index + b):
        ds = ActionDataSample()
        gt = InstanceData()
        gt.segments = torch.tensor(segments, dtype=torch.float32).reshape(-1, 2)
        gt.labels = torch.zeros(gt.segments.shape[0], dtype=torch.long)
        ds.gt_instances = gt
        ds.set_metainfo(dict(video_name=f'vid{i}', sample_idx=i, num_snippets=t,
                             duration=32.0, window_start=0.0, snippet_seconds=32.0 / t))
        samples.append(ds)
    return samples


def small_model(sampler: Optional[dict] = dict(type='RandomProposalSampler', ratio=0.5),
                t: int = T, roi_head: Optional[dict] = None, **kw):
    """An ETAD detector for ``[B, C=8, t]`` features with 32-channel parts;
    ``roi_head`` updates the RoI head's config, ``kw`` the detector's."""
    head = dict(type='ETADRoIHead',
                stage_head=dict(in_channels=32, roi_channels=16, hidden_dims=(32, 16, 16, 16),
                                num_groups=4),
                proposal_sampler=sampler)
    head.update(roi_head or {})
    cfg = dict(type='ETAD', num_snippets=t,
               neck=dict(type='LSTMFeatureEnhancement', in_channels=C, hidden_channels=32,
                         branch_channels=16, out_channels=32, num_groups=4),
               boundary_head=dict(type='BoundaryHead', in_channels=32, feat_channels=32,
                                  num_groups=4),
               roi_head=head)
    cfg.update(kw)
    return MODELS.build(cfg)





def random_feature_batch(batch: int, t: int, feat_dim: int, device='cpu', bmn: bool = False,
                         seed: int = 0):
    """Random ``[batch, feat_dim, t]`` features with 1-3 actions per video covering
    about half of it (as in ActivityNet), and their data samples: ETAD's
    ``gt_instances.segments`` (snippets) or, with ``bmn``, MMAction2 BMN's
    ``gt_bbox`` (normalised) and metainfo."""
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(batch, feat_dim, t, generator=g).to(device)
    samples = []
    for i in range(batch):
        n = 1 + i % 3
        segs = (torch.sort(torch.rand(2 * n, generator=g)).values * t).view(n, 2)
        segs[:, 1] = torch.maximum(segs[:, 1], segs[:, 0] + 1)
        ds = ActionDataSample()
        gt = InstanceData()
        if bmn:
            gt.gt_bbox = (segs / t).to(device)
        else:
            gt.segments = segs
            gt.labels = torch.zeros(n, dtype=torch.long)
        ds.gt_instances = gt
        ds.set_metainfo(dict(video_name=f'v{i}', sample_idx=i, num_snippets=t,
                             duration=float(t), window_start=0.0, snippet_seconds=1.0,
                             duration_second=float(t), duration_frame=t * 16,
                             feature_frame=t * 16))
        samples.append(ds)
    return feats, samples


def write_json(path, obj) -> str:
    """``obj`` as json at ``path`` (folders created); returns the path."""
    os.makedirs(osp.dirname(str(path)) or '.', exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def official_gt(videos: dict, classes=None) -> dict:
    """ActivityNet-style annotations of ``{id: (subset, duration, [(s, e, label)])}``."""
    db = {vid: {'subset': sub, 'duration': dur,
                'annotations': [{'segment': [s, e], 'label': lab} for s, e, lab in anns]}
          for vid, (sub, dur, anns) in videos.items()}
    out = {'version': 'test', 'database': db}
    if classes is not None:
        out['classes'] = classes
    return out


def write_npy_features(folder: str, lengths: dict, dim: int, seed: int = 0,
                       prefix: str = 'v_') -> dict:
    """Random ``[length, dim]`` float32 features ``<prefix><id>.npy`` per video."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    feats = {}
    for vid, length in lengths.items():
        f = rng.standard_normal((length, dim)).astype(np.float32)
        np.save(osp.join(folder, f'{prefix}{vid}.npy'), f)
        feats[vid] = f
    return feats


def tiny_tsm_recognizer(num_classes: int, mean, std) -> dict:
    """``model`` config of a stock MMAction2 ``Recognizer2D`` (TSM-ResNet18, 2
    segments): feature extraction and recognizer-labelled inference."""
    return dict(type='Recognizer2D',
                backbone=dict(type='ResNetTSM', depth=18, num_segments=2, pretrained=None),
                cls_head=dict(type='TSMHead', num_classes=num_classes, in_channels=512,
                              num_segments=2),
                data_preprocessor=dict(type='ActionDataPreprocessor', mean=mean, std=std,
                                       format_shape='NCHW'))


def tools_dir() -> str:
    """The ``tools/`` shipped with the package (``etad_mmaction/.mim/tools``, as
    ``mim`` finds it)."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'tools')


def load_tool(relpath: str):
    """Import a script of ``tools/`` (e.g. ``'analysis/bmn_baseline.py'``) as a
    module, once per process (``sys.modules['etad_tool_<name>']``)."""
    path = osp.join(tools_dir(), relpath)
    name = 'etad_tool_' + osp.splitext(relpath)[0].replace('/', '_').replace('-', '_')
    if name not in sys.modules:
        if not osp.isfile(path):
            raise FileNotFoundError(f'no tool {relpath} under {tools_dir()}')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


__all__ = ['T', 'C', 'make_samples', 'small_model', 'random_feature_batch', 'write_json',
           'official_gt', 'write_npy_features', 'tiny_tsm_recognizer', 'tools_dir',
           'load_tool']
