"""Small models, inputs and files for tests and quick checks (as ``mmdet.testing``):
a detector at toy sizes, data samples with ground truth, annotation and feature
files, a tiny MMAction2 recognizer, and the tools shipped with the package."""
import copy
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
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


#: environment variable naming a ``tools/`` folder to prefer (tests/conftest.py sets it
#: to the checkout the tests run from)
TOOLS_ENV = 'ETAD_MMACTION_TOOLS'


#: snippets, frames per snippet and frame size of :func:`tiny_e2e_batch`'s clips
E2E_M, E2E_T, E2E_HW = 8, 2, 8
_E2E_BASE = {}


def e2e_samples(b: int = 2, m: int = E2E_M) -> list:
    """``b`` samples of ``m`` snippets (2 s each) for :func:`tiny_e2e_model`,
    ``sample_idx`` ``10 + i``."""
    samples = make_samples(b, m, segments=((1., 3.), (4., 7.)), first_index=0)
    for i, ds in enumerate(samples):
        ds.set_metainfo(dict(sample_idx=10 + i, duration=16.0, snippet_seconds=2.0))
    return samples


def tiny_e2e_batch(seed: int = 0, b: int = 2) -> dict:
    """``b`` random float64 clips ``[M, 3, T, HW, HW]`` with :func:`e2e_samples`."""
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(E2E_M, 3, E2E_T, E2E_HW, E2E_HW, generator=g, dtype=torch.float64)
              for _ in range(b)]
    return dict(inputs=inputs, data_samples=e2e_samples(b))


def tiny_e2e_model(ratio=0.5, mode='single_pass', sampler=dict(type='RandomSampler'),
                   chunk_size=3, dtype=torch.float64):
    """One tiny ETADEndToEnd (TSM-R18 encoder, frozen_stages=2, all BN frozen) built
    once per process; each call returns a fresh copy with the requested EGS settings."""
    from etad_mmaction.models.encoders import EncoderGradientSampling
    cfg = dict(ratio=ratio, mode=mode, sampler=sampler, chunk_size=chunk_size)
    if 'model' not in _E2E_BASE:
        torch.manual_seed(0)
        _E2E_BASE['model'] = MODELS.build(dict(
            type='ETADEndToEnd',
            data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW',
                                   to_float32=False),
            encoder=dict(type='SnippetEncoder', frozen_stages=2,
                         backbone=dict(type='ResNetTSM', depth=18, num_segments=E2E_T,
                                       pretrained=None)),
            detector=dict(
                type='ETAD', num_snippets=E2E_M,
                neck=dict(type='LSTMFeatureEnhancement', in_channels=512, hidden_channels=16,
                          branch_channels=8, out_channels=16, num_groups=4),
                boundary_head=dict(type='BoundaryHead', in_channels=16, feat_channels=16,
                                   num_groups=4),
                roi_head=dict(type='ETADRoIHead',
                              stage_head=dict(in_channels=16, roi_channels=8,
                                              hidden_dims=(16, 8, 8, 8), num_groups=4),
                              proposal_sampler=dict(type='RandomProposalSampler', ratio=0.5),
                              train_cfg=dict(stage_pos_iou_thrs=(0.3, 0.3, 0.3)))),
            egs=cfg))
        # (init_weights skipped: default PyTorch init is enough here and much faster)
    model = copy.deepcopy(_E2E_BASE['model'])
    model.egs = EncoderGradientSampling(**cfg)
    return model.to(dtype).train()


def tools_dirs(package_dir: Optional[str] = None) -> list:
    """Where :func:`load_tool` looks, in order: ``$ETAD_MMACTION_TOOLS``, the
    checkout's ``tools/`` when the package sits in a source checkout (a
    ``pyproject.toml`` beside it), the ``.mim/tools`` shipped with the package."""
    package_dir = package_dir or osp.dirname(osp.dirname(osp.abspath(__file__)))
    parent = osp.dirname(package_dir)
    dirs = [os.environ[TOOLS_ENV]] if os.environ.get(TOOLS_ENV) else []
    if osp.isfile(osp.join(parent, 'pyproject.toml')):
        dirs.append(osp.join(parent, 'tools'))
    dirs.append(osp.join(package_dir, '.mim', 'tools'))
    return dirs


def tool_path(relpath: str, package_dir: Optional[str] = None) -> str:
    """The first ``<dir>/relpath`` of :func:`tools_dirs` that exists."""
    dirs = tools_dirs(package_dir)
    for d in dirs:
        if osp.isfile(osp.join(d, relpath)):
            return osp.join(d, relpath)
    raise FileNotFoundError(f'no tool {relpath} under any of {dirs}: run from a source '
                            f'checkout, set ${TOOLS_ENV} to its tools/, or install the '
                            'package with its build hook (pip install -e .)')


def load_tool(relpath: str):
    """Import a script of ``tools/`` (e.g. ``'analysis/bmn_baseline.py'``, found by
    :func:`tool_path`) as a module, once per process (``sys.modules['etad_tool_<name>']``)."""
    name = 'etad_tool_' + osp.splitext(relpath)[0].replace('/', '_').replace('-', '_')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, tool_path(relpath))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def run_tool(args, cwd: str, pythonpath=(), env_extra: Optional[dict] = None,
             timeout: float = 900) -> str:
    """Run ``python *args`` in ``cwd`` (one OpenMP thread, ``pythonpath`` prepended);
    assert it exits 0 and return stdout + stderr."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([*pythonpath, env.get('PYTHONPATH', '')]).rstrip(
        os.pathsep)
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                         env=env, timeout=timeout)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-5000:])
    return out.stdout + out.stderr


def data_opts(data_root: str) -> list:
    """``--cfg-options`` that point the train / val / test datasets at ``data_root``."""
    return [f'{k}.dataset.data_root={data_root}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def final_metrics(log_text: str) -> float:
    """The last ``avg_mAP`` a training or test log printed."""
    rows = re.findall(r'avg_mAP: ([0-9.]+)', log_text)
    assert rows, log_text[-2000:]
    return float(rows[-1])


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a test's torch.distributed rendezvous)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def eval_detection_cli(*args, check: bool = True):
    """Run ``tools/analysis/eval_detection.py *args``; with ``check`` assert it exits 0
    and return its one json line, else return the CompletedProcess."""
    proc = subprocess.run([sys.executable, tool_path('analysis/eval_detection.py'),
                           *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        assert len(lines) == 1, proc.stdout
        return json.loads(lines[0])
    return proc


__all__ = ['T', 'C', 'make_samples', 'small_model', 'random_feature_batch', 'write_json',
           'official_gt', 'write_npy_features', 'tiny_tsm_recognizer', 'TOOLS_ENV',
           'free_port', 'tools_dirs', 'tool_path', 'load_tool', 'run_tool', 'data_opts',
           'final_metrics', 'eval_detection_cli', 'E2E_M', 'E2E_T', 'E2E_HW', 'e2e_samples',
           'tiny_e2e_batch', 'tiny_e2e_model']
