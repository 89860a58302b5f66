"""Semi-synthetic temporal action detection datasets.

Real ground truth (an ActivityNet/BSN or THUMOS annotation file) or ground
truth sampled from ActivityNet-like statistics is turned into per-snippet
features with learnable but imperfect structure, so that a TAD model can be
trained and evaluated without real features (none are available here; paper
App. B.1 describes the real-feature setting this stands in for).

Feature model (per video, ``D = feature_dim``; every vector is drawn once per
dataset from ``seed`` with i.i.d. N(0, 1) entries):

* scene: a per-video offset ``video_style * z_v`` plus a background mode
  ``separation * G_k`` that changes at random scene cuts (about one per
  ``scene_seconds``), chosen among 1-3 of ``background_modes`` modes;
* action of class ``c`` at relative position ``u`` in ``[0, 1]``::

      separation * amp * (C_c + 0.8 A + w_s(u) (S + s_c) + w_m(u) m_c
                          + w_e(u) (E + e_c) + 0.3 z_instance)

  with class vectors ``C_c, s_c, m_c, e_c``, class-agnostic actionness
  ``A`` and start/end patterns ``S, E``; ``w_s`` falls from 1 to 0 over the
  first 30 % of the action, ``w_e`` rises over the last 30 %,
  ``w_m = 1 - w_s - w_e`` (start -> middle -> end drift, so boundaries are
  learnable); ``amp ~ U(0.7, 1.3)``; the scene is partly occluded (60 %);
* transitions: every boundary is a linear ramp whose width is about ``blur``
  features (``U(0.5, 1.5) * blur``);
* distractors: ``Poisson(distractors)`` segments of 1.5-12 s in background
  gaps showing only the middle pattern ``C_c + 0.8 A + m_c`` of the video's
  class (half of them) or another class, at ``distractor_strength`` times
  the action amplitude, with the same ramps;
* noise: ``noise`` times AR(1) noise along time (coefficient
  ``noise_correlation``).

Difficulty knobs: ``noise`` (up: harder), ``separation`` (down: harder),
``blur`` (up: boundaries less precise), ``distractors`` and
``distractor_strength`` (up: more false positives). The defaults are meant to
leave a good detector well inside (0, 100) average mAP and are to be
calibrated with the model.

Features are written at a native resolution of one feature per
``seconds_per_feature`` seconds (so 10-240 s videos have 10-240 features and
rescaling to 128 snippets is exercised both ways), and a CUHK-style
video-level classifier-score file with top-1 accuracy ``classifier_top1`` is
written for all videos.

Layout of a dataset root::

    meta.json                    generator version, parameters, video lists
    gt.json                      official ActivityNet-style ground truth
                                 (subsets training / validation, "classes")
    classes.txt                  class names, one per line
    classifier.json              {"results": {id: [scores]}, "class": [...]}
    features/v_<id>.npy          float32 [L, D], L ~ duration / seconds_per_feature
    mmaction2/anet_anno_{train,val,full}.json   BSN/MMAction2 ground truth ("v_<id>")
    mmaction2/csv_mean_<S>/v_<id>.csv           features rescaled to S (100) rows,
                                                header f0..f<D-1> (stock BMN input)
    mmaction2/action_name.csv

Generation is deterministic in ``seed``, refuses to overwrite an existing
dataset unless ``overwrite=True`` (and then only one it generated: ``meta.json``), and
is atomic (built in a hidden temporary folder next to ``root`` and renamed into place).
"""
import csv
import dataclasses
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..windows import rescale_features
from .store import META_FILE, write_dataset

GENERATOR_VERSION = 2  # 2: the BMN export averages feature bins


@dataclass
class SyntheticParams:
    """Parameters of :func:`generate_synthetic_dataset` (all have defaults)."""
    num_train: Optional[int] = 200        # training videos (None: all of annotation_file)
    num_val: Optional[int] = 100          # validation videos
    num_classes: int = 200                # classes when sampling ground truth
    feature_dim: int = 400                # channels (400 = BMN's TSN features)
    seed: int = 0
    annotation_file: Optional[str] = None  # real ActivityNet/BSN/THUMOS ground truth
    subset_file: Optional[str] = None     # subsets for a BSN annotation file
    min_duration: float = 10.0            # sampled durations, seconds (uniform)
    max_duration: float = 240.0
    max_actions: int = 6                  # 1..max_actions, P(k) ~ 0.45 ** (k - 1)
    foreground_ratio: float = 0.65        # mean foreground coverage (Beta, conc. 6)
    min_action_seconds: float = 1.0
    seconds_per_feature: float = 1.0      # native feature resolution
    fps: float = 30.0                     # frame rate written to the annotations
    noise: float = 1.0
    separation: float = 0.09
    blur: float = 2.0                     # boundary ramp width, in features
    distractors: float = 1.5              # mean distractor segments per video
    distractor_strength: float = 0.7
    background_modes: int = 8
    scene_seconds: float = 60.0           # mean seconds between scene cuts
    video_style: float = 0.5
    noise_correlation: float = 0.5
    classifier_top1: float = 0.9          # top-1 accuracy of the classifier scores
    bmn_temporal_scale: int = 100         # rows of the MMAction2 csv features
    write_bmn: bool = True


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *stream]))


# --------------------------------------------------------------------------- ground truth
def _sample_video_gt(rng: np.random.Generator, p: SyntheticParams, classes: List[str]
                     ) -> Tuple[float, List[Tuple[float, float, str]]]:
    duration = float(rng.uniform(p.min_duration, p.max_duration))
    k = np.arange(1, max(1, p.max_actions) + 1)
    probs = 0.45 ** (k - 1)
    n = int(rng.choice(k, p=probs / probs.sum()))
    m = float(np.clip(p.foreground_ratio, 0.05, 0.95))
    cover = float(np.clip(rng.beta(6 * m, 6 * (1 - m)), 0.05, 0.98))
    lengths = cover * duration * rng.dirichlet(np.full(n, 2.0))
    lengths = np.maximum(lengths, p.min_action_seconds)
    if lengths.sum() > 0.98 * duration:
        lengths *= 0.98 * duration / lengths.sum()
    gaps = (duration - lengths.sum()) * rng.dirichlet(np.ones(n + 1))
    label = classes[int(rng.integers(len(classes)))]
    t, out = float(gaps[0]), []
    for i in range(n):
        s, e = t, min(t + float(lengths[i]), duration)
        out.append((round(s, 3), round(e, 3), label))
        t = e + float(gaps[i + 1])
    return round(duration, 3), [a for a in out if a[1] > a[0]]


def _real_videos(p: SyntheticParams) -> Tuple[List[str], Dict[str, list]]:
    """(classes, {"training": [(id, duration, fps, gt)], "validation": [...]})."""
    from ..annotations import clean_records, parse_annotation_file, resolve_classes
    records, file_classes = parse_annotation_file(p.annotation_file, p.subset_file)
    classes = resolve_classes(records, file_classes, None, p.annotation_file)
    records = [r for r in records if len(r.segments)]
    subsets = {r.subset for r in records}
    if 'training' in subsets and 'validation' in subsets:
        pools = {'training': 'training', 'validation': 'validation'}
    elif 'validation' in subsets and 'test' in subsets:  # THUMOS: train on validation
        pools = {'training': 'validation', 'validation': 'test'}
    else:
        pools = None
    rng = _rng(p.seed, 3)
    if pools is None:
        order = rng.permutation(len(records))
        n_train = len(records) // 2 if p.num_train is None else min(p.num_train, len(records))
        split = {'training': [records[i] for i in order[:n_train]],
                 'validation': [records[i] for i in order[n_train:]]}
    else:
        split = {}
        for out_name, src in pools.items():
            pool = [r for r in records if r.subset == src]
            split[out_name] = [pool[i] for i in rng.permutation(len(pool))]
    chosen = {}
    for name, num in (('training', p.num_train), ('validation', p.num_val)):
        recs = []
        for rec in split[name]:  # clean (clip / drop zero-length) only what is used
            if num is not None and len(recs) >= num:
                break
            clean_records([rec], warn=False)
            if len(rec.segments):
                recs.append(rec)
        chosen[name] = [(r.video_name, float(r.duration), float(r.fps or p.fps),
                         [(float(s), float(e), lab) for (s, e), lab in zip(r.segments, r.labels)])
                        for r in recs]
    return classes, chosen


# --------------------------------------------------------------------------- features
class _Prototypes:
    def __init__(self, p: SyntheticParams, num_classes: int):
        rng = _rng(p.seed, 0)
        d = p.feature_dim
        self.actionness = rng.standard_normal(d)
        self.start = rng.standard_normal(d)
        self.end = rng.standard_normal(d)
        self.cls = rng.standard_normal((num_classes, d))
        self.cls_start = 0.7 * rng.standard_normal((num_classes, d))
        self.cls_mid = 0.7 * rng.standard_normal((num_classes, d))
        self.cls_end = 0.7 * rng.standard_normal((num_classes, d))
        self.background = rng.standard_normal((max(1, p.background_modes), d))


def _ramp(t: np.ndarray, s: float, e: float, w_in: float, w_out: float) -> np.ndarray:
    """Soft box membership of [s, e] at times t with linear ramps centred on
    the boundaries (hard box when a width is 0)."""
    up = (t >= s).astype(np.float64) if w_in <= 0 else np.clip((t - s) / w_in + 0.5, 0, 1)
    down = (t < e).astype(np.float64) if w_out <= 0 else np.clip((e - t) / w_out + 0.5, 0, 1)
    return up * down


def _support(m: np.ndarray) -> Optional[slice]:
    nz = np.flatnonzero(m > 0)
    return None if len(nz) == 0 else slice(int(nz[0]), int(nz[-1]) + 1)


def _video_features(rng: np.random.Generator, p: SyntheticParams, protos: _Prototypes,
                    duration: float, gt: List[Tuple[float, float, int]], num_classes: int
                    ) -> np.ndarray:
    length = max(2, int(round(duration / p.seconds_per_feature)))
    step = duration / length
    t = (np.arange(length) + 0.5) * step
    d = p.feature_dim
    sep = p.separation
    x = np.tile(p.video_style * rng.standard_normal(d), (length, 1))

    # scene / background modes with random cuts
    modes = rng.choice(len(protos.background), size=min(len(protos.background),
                                                        int(rng.integers(1, 4))), replace=False)
    n_cuts = rng.poisson(duration / max(p.scene_seconds, 1e-6))
    cuts = np.sort(rng.uniform(0, duration, n_cuts))
    scene_idx = rng.choice(modes, size=n_cuts + 1)
    scene = protos.background[scene_idx[np.searchsorted(cuts, t)]]

    def width():
        return p.blur * step * float(rng.uniform(0.5, 1.5))

    occupancy = np.zeros(length)
    video_class = None
    if gt:
        dur_by_class = {}
        for s, e, c in gt:
            dur_by_class[c] = dur_by_class.get(c, 0.0) + (e - s)
        video_class = max(dur_by_class, key=dur_by_class.get)
    for s, e, c in gt:
        m = _ramp(t, s, e, width(), width())
        u = np.clip((t - s) / max(e - s, 1e-9), 0.0, 1.0)
        ph = 0.3
        ws = np.clip(1.0 - u / ph, 0.0, 1.0)
        we = np.clip(1.0 - (1.0 - u) / ph, 0.0, 1.0)
        wm = 1.0 - ws - we
        amp = sep * float(rng.uniform(0.7, 1.3)) * m
        inst = 0.3 * rng.standard_normal(d)
        sl = _support(m)
        if sl is None:
            continue
        a = amp[sl]
        x[sl] += np.outer(a, protos.cls[c] + 0.8 * protos.actionness + inst)
        x[sl] += np.outer(a * ws[sl], protos.start + protos.cls_start[c])
        x[sl] += np.outer(a * wm[sl], protos.cls_mid[c])
        x[sl] += np.outer(a * we[sl], protos.end + protos.cls_end[c])
        occupancy = np.maximum(occupancy, m)

    # distractors in background gaps
    n_dis = rng.poisson(p.distractors)
    busy = sorted((s, e) for s, e, _ in gt)
    gaps, cur = [], 0.0
    for s, e in busy:
        if s > cur:
            gaps.append((cur, s))
        cur = max(cur, e)
    if cur < duration:
        gaps.append((cur, duration))
    for _ in range(n_dis):
        seg_len = float(rng.uniform(1.5, 12.0))
        fits = [g for g in gaps if g[1] - g[0] >= seg_len + 2 * p.blur * step]
        if not fits:
            continue
        g0, g1 = fits[int(rng.integers(len(fits)))]
        margin = p.blur * step
        s = float(rng.uniform(g0 + margin, g1 - margin - seg_len))
        c = video_class if (video_class is not None and rng.random() < 0.5) \
            else int(rng.integers(num_classes))
        m = _ramp(t, s, s + seg_len, width(), width())
        amp = sep * p.distractor_strength * float(rng.uniform(0.6, 1.2)) * m
        sl = _support(m)
        if sl is not None:
            x[sl] += np.outer(amp[sl], protos.cls[c] + 0.8 * protos.actionness + protos.cls_mid[c])
        occupancy = np.maximum(occupancy, 0.5 * m)

    x += sep * (1.0 - 0.6 * occupancy)[:, None] * scene

    # AR(1) noise along time (stationary: start from the stationary distribution)
    rho = float(np.clip(p.noise_correlation, 0.0, 0.99))
    eps = rng.standard_normal((length, d))
    noise = np.empty_like(eps)
    noise[0] = eps[0]
    scale = np.sqrt(1.0 - rho ** 2)
    for i in range(1, length):
        noise[i] = rho * noise[i - 1] + scale * eps[i]
    x += p.noise * noise
    return x.astype(np.float32)


def _classifier_scores(rng: np.random.Generator, p: SyntheticParams, true_classes: List[int],
                       num_classes: int) -> np.ndarray:
    z = rng.standard_normal(num_classes)
    main = true_classes[0]
    if num_classes == 1:
        return np.ones(1)
    correct = rng.random() < p.classifier_top1
    top = main if correct else int((main + rng.integers(1, num_classes)) % num_classes)
    z[top] = z.max() + float(rng.uniform(0.5, 3.0))
    if not correct:
        z[main] = z[top] - float(rng.uniform(0.1, 1.5))
    for c in true_classes[1:]:
        if c != top:
            z[c] = max(z[c], z[top] - float(rng.uniform(0.2, 2.0)))
    logits = 3.0 * z
    e = np.exp(logits - logits.max())
    return e / e.sum()


# --------------------------------------------------------------------------- writing
def _write_json(path: str, obj) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=None, separators=(',', ':'))


def _write_csv_features(path: str, feat_td: np.ndarray) -> None:
    header = ','.join(f'f{i}' for i in range(feat_td.shape[1]))
    np.savetxt(path, feat_td, fmt='%.5f', delimiter=',', header=header, comments='')


def params_dict(params: SyntheticParams) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(params)))


def _build(tmp: str, p: SyntheticParams, progress: bool, allow_no_train: bool = False) -> None:
    from tqdm import tqdm

    if p.feature_dim < 1 or p.seconds_per_feature <= 0:
        raise ValueError('feature_dim must be >= 1 and seconds_per_feature > 0')
    if p.annotation_file:
        classes, chosen = _real_videos(p)
    else:
        if p.min_duration <= 0 or p.max_duration < p.min_duration:
            raise ValueError('need 0 < min_duration <= max_duration')
        classes = [f'action_{i:03d}' for i in range(p.num_classes)]
        chosen = {}
        gt_rng_index = 0
        for name, num, tag in (('training', p.num_train or 0, 't'),
                               ('validation', p.num_val or 0, 'v')):
            videos = []
            for i in range(num):
                rng = _rng(p.seed, 1, gt_rng_index)
                gt_rng_index += 1
                duration, gt = _sample_video_gt(rng, p, classes)
                videos.append((f'syn{tag}{i:06d}', duration, p.fps, gt))
            chosen[name] = videos
    if not chosen['training'] and not allow_no_train:
        raise ValueError(_NO_TRAIN.format(why=f'none chosen from {p.annotation_file}'
                                          if p.annotation_file else 'num_train is 0'))
    label_of = {c: i for i, c in enumerate(classes)}
    protos = _Prototypes(p, len(classes))

    os.makedirs(osp.join(tmp, 'features'))
    csv_dir = osp.join(tmp, 'mmaction2', f'csv_mean_{p.bmn_temporal_scale}')
    if p.write_bmn:
        os.makedirs(csv_dir)
    database, bmn = {}, {'training': {}, 'validation': {}}
    results = {}
    all_videos = [(subset, v) for subset in ('training', 'validation') for v in chosen[subset]]
    for index, (subset, (vid, duration, fps, gt)) in enumerate(
            tqdm(all_videos, desc='synthetic TAD videos', disable=not progress, unit='video')):
        gt_idx = [(s, e, label_of[lab]) for s, e, lab in gt]
        feat = _video_features(_rng(p.seed, 2, index), p, protos, duration, gt_idx, len(classes))
        np.save(osp.join(tmp, 'features', f'v_{vid}.npy'), feat)
        anns = [{'segment': [s, e], 'label': lab, 'label_id': label_of[lab]} for s, e, lab in gt]
        database[vid] = {'subset': subset, 'duration': duration, 'fps': fps, 'url': '',
                         'resolution': '', 'annotations': anns}
        by_class = {}
        for s, e, c in gt_idx:
            by_class[c] = by_class.get(c, 0.0) + e - s
        true_classes = sorted(by_class, key=lambda c: -by_class[c])
        scores = _classifier_scores(_rng(p.seed, 4, index), p, true_classes, len(classes))
        results[vid] = [float('%.6g' % s) for s in scores]
        if p.write_bmn:
            frames = int(round(duration * fps))
            bmn[subset]['v_' + vid] = {
                'duration_second': duration, 'duration_frame': frames,
                'feature_frame': frames, 'fps': fps, 'rfps': fps,
                'annotations': [{'segment': [s, e], 'label': lab} for s, e, lab in gt]}
            resized = rescale_features(feat.T, p.bmn_temporal_scale).T
            _write_csv_features(osp.join(csv_dir, f'v_{vid}.csv'), resized)

    _write_json(osp.join(tmp, 'gt.json'), {
        'version': f'etad-synthetic-v{GENERATOR_VERSION}', 'taxonomy': [],
        'classes': classes, 'database': database})
    with open(osp.join(tmp, 'classes.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    _write_json(osp.join(tmp, 'classifier.json'), {
        'results': results, 'class': classes,
        'external_data': {'used': False,
                          'details': f'synthetic scores, top-1 ~ {p.classifier_top1}'}})
    if p.write_bmn:
        mdir = osp.join(tmp, 'mmaction2')
        _write_json(osp.join(mdir, 'anet_anno_train.json'), bmn['training'])
        _write_json(osp.join(mdir, 'anet_anno_val.json'), bmn['validation'])
        _write_json(osp.join(mdir, 'anet_anno_full.json'), {**bmn['training'], **bmn['validation']})
        with open(osp.join(mdir, 'action_name.csv'), 'w', newline='', encoding='utf-8') as f:
            w = csv.writer(f)
            w.writerow(['action'])
            w.writerows([c] for c in classes)
    meta = {
        'generator': 'etad_mmaction.datasets.synthetic', 'version': GENERATOR_VERSION,
        'params': params_dict(p), 'num_classes': len(classes), 'feature_dim': p.feature_dim,
        'videos': {k: [v[0] for v in chosen[k]] for k in ('training', 'validation')},
        'files': {'gt': 'gt.json', 'classes': 'classes.txt', 'classifier': 'classifier.json',
                  'features': 'features',
                  'mmaction2': 'mmaction2' if p.write_bmn else None},
    }
    _write_json(osp.join(tmp, META_FILE), meta)  # written last: marks a complete dataset


def generate_synthetic_dataset(root: str, overwrite: bool = False, progress: bool = True,
                               allow_no_train: bool = False, **params) -> str:
    """Write a semi-synthetic TAD dataset to ``root`` (see the module doc and
    :class:`SyntheticParams` for ``params``). Returns the absolute ``root``.

    Built next to ``root`` and renamed into place (:func:`.store.write_dataset`): an
    existing ``root`` raises ``FileExistsError`` unless ``overwrite`` and it is a
    dataset this package generated. A dataset without training videos raises
    ``ValueError`` unless ``allow_no_train`` (an evaluation-only set).
    """
    p = SyntheticParams(**params)
    if p.num_train == 0 and not allow_no_train:
        raise ValueError(_NO_TRAIN.format(why='num_train is 0'))
    return write_dataset(root, lambda tmp: _build(tmp, p, progress, allow_no_train), overwrite)


_NO_TRAIN = ('a synthetic dataset without training videos ({why}) trains nothing; set '
             'num_train (--num-train) >= 1, or pass allow_no_train=True (--allow-no-train) '
             'for an evaluation-only dataset')


def check_meta(root: str, meta: dict, p: SyntheticParams) -> None:
    """Raise if the dataset at ``root`` was generated with other parameters than ``p``."""
    want = params_dict(p)
    have = meta.get('params', {})
    diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
    if meta.get('version') != GENERATOR_VERSION:
        diff['generator version'] = (meta.get('version'), GENERATOR_VERSION)
    if diff:
        raise ValueError(
            f'the synthetic dataset at {root} was generated with other parameters '
            f'(stored vs requested: {diff}); delete it, use another root, or call '
            'generate_synthetic_dataset(..., overwrite=True)')
