"""Synthetic raw-video TAD dataset with a pretrained encoder, for end-to-end training
on a CPU in minutes (the embedded end-to-end default,
``configs/etad_e2e/etad-e2e_tsm-r18-56-2f_1xb4-8e_synthetic-video.py``, ``kind='video'``).

The design is that of the EGS fidelity experiment (``tools/analysis/egs_fidelity.py``),
which mirrors Kinetics -> ActivityNet:

* target videos (mp4, 64x64, 8 fps, 6-12 s, 1-2 actions each): an oriented stripe
  texture per class (4 classes) moving over slowly varying noise, with a class-free
  distractor blob throughout;
* source clips (2 s, one class throughout, another stripe frequency, no distractor):
  a stock MMAction2 ``Recognizer2D`` (TSM-ResNet18, 2 frames) is pretrained on them as
  a 4-way classifier and saved as a stock checkpoint, which the end-to-end config
  loads into its encoder (``init_cfg=Pretrained``).

Layout of a dataset root::

    meta.json                  generator version, parameters, pretraining figures
    gt.json                    ActivityNet-style ground truth ("classes", subsets
                               training / validation)
    videos/syn<NNNN>.mp4       target videos
    encoder_pretrained.pth     the source-domain recognizer (state_dict of
                               Recognizer2D: backbone.* and cls_head.*)

The source clips are written to a temporary folder and removed. Generation is
deterministic in ``seed`` (up to the threads of the pretraining), atomic and
safe when several processes ask for it at once (:func:`..ensure_synthetic_dataset`).
"""
import dataclasses
import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass

import numpy as np

from .store import META_FILE, write_dataset

GENERATOR_VERSION = 1
CHECKPOINT = 'encoder_pretrained.pth'


@dataclass
class SyntheticVideoParams:
    num_train: int = 48
    num_val: int = 16
    num_source: int = 240          # source-domain clips for the encoder's pretraining
    pretrain_steps: int = 120      # SGD steps of batch 32
    num_classes: int = 4
    size: int = 64                 # frame side (pixels)
    fps: int = 8
    clip_len: int = 2              # frames per snippet of the encoder
    crop: int = 56
    target_freq: float = 0.8       # stripe frequency of the target videos (rad/px)
    source_freq: float = 1.3       # ... of the source clips (the domain gap)
    seed: int = 0


def _stripes(p, k, size, phase, freq):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    theta = np.pi * k / p.num_classes
    return np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * freq + phase)


def _render(p, n, acts, base, i, freq, distractor):
    """Frames of one video: coarse noise per second (``base``), interpolated; an
    optional moving blob; each action's texture while it lasts."""
    import cv2
    size, frames = p.size, []
    for f in range(n):
        a = f / p.fps
        lo, w = int(a), a - int(a)
        bg = (1 - w) * base[lo] + w * base[lo + 1]
        img = cv2.resize(bg, (size, size), interpolation=cv2.INTER_CUBIC) * 40 + 110
        if distractor:
            cy = size / 2 + size / 4 * np.sin(f / 9.0 + i)
            cx = size / 2 + size / 4 * np.cos(f / 7.0 + i)
            cv2.circle(img, (int(cx), int(cy)), size // 9, (150, 150, 150), -1)
        patch = size * 7 // 16
        for s, e, k in acts:
            if s <= f < e:
                y0 = int((size - patch) * (0.5 + 0.4 * np.sin(f / 11.0 + k)))
                x0 = int((size - patch) * (0.5 + 0.4 * np.cos(f / 13.0 + k)))
                img[y0:y0 + patch, x0:x0 + patch] += \
                    _stripes(p, k, patch, f * 0.5, freq)[..., None] * 60
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def _write_mp4(p, path, frames):
    import cv2
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), p.fps, (p.size, p.size))
    for img in frames:
        writer.write(img)
    writer.release()
    if not osp.isfile(path) or osp.getsize(path) == 0:
        raise RuntimeError(f'OpenCV could not write {path} (mp4v codec missing?)')


def make_videos(p, root):
    """Untrimmed target videos under ``root/videos`` and their ground truth."""
    rng = np.random.default_rng(p.seed)
    os.makedirs(osp.join(root, 'videos'), exist_ok=True)
    db = {}
    for i in range(p.num_train + p.num_val):
        vid = f'syn{i:04d}'
        n = int(rng.integers(6, 13)) * p.fps
        acts = []
        for _ in range(int(rng.integers(1, 3))):
            length = int(rng.integers(n // 6, n // 2))
            start = int(rng.integers(0, n - length))
            if all(start >= e + 2 or start + length + 2 <= s for s, e, _ in acts):
                acts.append((start, start + length, int(rng.integers(0, p.num_classes))))
        base = rng.normal(0, 1, (n // p.fps + 2, p.size // 8, p.size // 8, 3))
        _write_mp4(p, osp.join(root, 'videos', f'{vid}.mp4'),
                   _render(p, n, acts, base.astype(np.float32), i, p.target_freq, True))
        db[vid] = dict(subset='training' if i < p.num_train else 'validation',
                       duration=n / p.fps, fps=p.fps,
                       annotations=[dict(segment=[s / p.fps, e / p.fps], label=f'c{k}')
                                    for s, e, k in sorted(acts)])
    return db


def make_source_clips(p, folder):
    """Trimmed source-domain clips, ``[(path, label)]``."""
    rng = np.random.default_rng(p.seed + 1)
    os.makedirs(folder, exist_ok=True)
    n_frames, clips = 2 * p.fps, []
    for i in range(p.num_source):
        k = i % p.num_classes
        base = rng.normal(0, 1, (n_frames // p.fps + 2, p.size // 8, p.size // 8, 3))
        path = osp.join(folder, f'src{i:04d}.mp4')
        _write_mp4(p, path, _render(p, n_frames, [(0, n_frames, k)], base.astype(np.float32),
                                    i, p.source_freq, False))
        clips.append((path, k))
    return clips


def recognizer_cfg(p):
    """The stock MMAction2 recognizer pretrained on the source clips."""
    return dict(type='Recognizer2D',
                backbone=dict(type='ResNetTSM', depth=18, num_segments=p.clip_len,
                              pretrained=None),
                cls_head=dict(type='TSMHead', num_classes=p.num_classes, in_channels=512,
                              num_segments=p.clip_len, dropout_ratio=0.0),
                data_preprocessor=dict(type='ActionDataPreprocessor', mean=[110.0] * 3,
                                       std=[50.0] * 3, format_shape='NCHW'))


def pretrain(p, clips, out_file):
    """Train the recognizer on ``clip_len``-frame windows of the source clips (random
    crops); save a stock checkpoint. Returns the accuracy on a quarter of the windows
    held out (centre crops)."""
    import decord
    import torch
    from mmengine.registry import DefaultScope
    from mmaction.registry import MODELS
    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    windows = []
    for path, k in clips:
        frames = decord.VideoReader(path)[:].asnumpy()
        windows += [(frames[f:f + p.clip_len], k)
                    for f in range(0, len(frames) - p.clip_len, 3)]
    order = rng.permutation(len(windows))
    n_fit = max(1, len(order) * 3 // 4)
    fit = [windows[i] for i in order[:n_fit]]
    held = [windows[i] for i in order[n_fit:]] or fit
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(recognizer_cfg(p))
    mean = torch.tensor([110.0] * 3).view(1, 3, 1, 1)
    std = torch.tensor([50.0] * 3).view(1, 3, 1, 1)
    c = p.crop

    def logits(batch, y0, x0):
        x = torch.from_numpy(np.stack([w for w, _ in batch])[:, :, y0:y0 + c, x0:x0 + c])
        x = (x.float().permute(0, 1, 4, 2, 3).reshape(-1, 3, c, c) - mean) / std
        return model.cls_head(model.backbone(x), num_segs=p.clip_len)

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
    for _ in range(p.pretrain_steps):
        batch = [fit[i] for i in rng.integers(0, len(fit), 32)]
        y0, x0 = rng.integers(0, p.size - c + 1, 2)
        loss = torch.nn.functional.cross_entropy(
            logits(batch, y0, x0), torch.tensor([k for _, k in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    mid = (p.size - c) // 2
    with torch.no_grad():
        pred = torch.cat([logits(held[i:i + 256], mid, mid).argmax(1)
                          for i in range(0, len(held), 256)])
    acc = float((pred.numpy() == np.array([k for _, k in held])).mean())
    torch.save(dict(state_dict=model.state_dict(), meta=dict(steps=p.pretrain_steps)),
               out_file)
    return acc


def _build(tmp, p, progress):
    if progress:
        print(f'synthetic videos: writing {p.num_train + p.num_val} videos and '
              f'{p.num_source} source clips, pretraining the encoder '
              f'({p.pretrain_steps} steps) ...', flush=True)
    db = make_videos(p, tmp)
    with open(osp.join(tmp, 'gt.json'), 'w') as f:
        json.dump(dict(version='etad-synthetic-video',
                       classes=[f'c{k}' for k in range(p.num_classes)], database=db), f)
    source = osp.join(tmp, 'source')
    acc = pretrain(p, make_source_clips(p, source), osp.join(tmp, CHECKPOINT))
    shutil.rmtree(source)
    meta = dict(generator='etad_mmaction.datasets.synthetic_video',
                version=GENERATOR_VERSION, params=dataclasses.asdict(p),
                source_heldout_accuracy=acc, checkpoint=CHECKPOINT)
    with open(osp.join(tmp, META_FILE), 'w') as f:  # last: marks a complete dataset
        json.dump(meta, f, indent=1)
    if progress:
        print(f'synthetic videos: encoder accuracy on held-out source windows {acc:.2f}',
              flush=True)


def check_meta(root: str, meta: dict, p: SyntheticVideoParams) -> None:
    """Raise if the dataset at ``root`` was generated with other parameters than ``p``."""
    want = dataclasses.asdict(p)
    diff = {k: (meta.get('params', {}).get(k), v) for k, v in want.items()
            if meta.get('params', {}).get(k) != v}
    if meta.get('version') != GENERATOR_VERSION:
        diff['generator version'] = (meta.get('version'), GENERATOR_VERSION)
    if diff:
        raise ValueError(f'the synthetic video dataset at {root} was generated with other '
                         f'parameters (stored vs requested: {diff}); delete it or use '
                         'another data_root')


def generate_synthetic_video_dataset(root: str, overwrite: bool = False, progress: bool = True,
                                     **params) -> str:
    """Write the dataset to ``root`` (atomically; ``overwrite`` replaces only a
    generated dataset, :func:`.store.write_dataset`). Returns the absolute root."""
    p = SyntheticVideoParams(**params)
    if p.num_train < 1:
        raise ValueError(f'num_train must be >= 1 (got {p.num_train}): a dataset without '
                         'training videos trains nothing')
    return write_dataset(root, lambda tmp: _build(tmp, p, progress), overwrite)
