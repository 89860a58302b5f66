"""High-level inference, after MMAction2's ``init_recognizer`` / ``inference_recognizer``.

``inference_detector`` runs one video (end-to-end config) or one feature file
(feature-based config) through the *config's own test dataset class and
pipeline*: the dataset is built from ``cfg.test_dataloader.dataset`` with a
one-video annotation in memory (``annotations=``), so snippet sampling,
feature rescaling and THUMOS-style windows are exactly those of evaluation;
window predictions are merged with the test evaluator's ``nms_cfg`` like
``TADMetric`` does. ETAD is class-agnostic (Section 3): labels come from a
video-level classifier (scores, or an MMAction2 recognizer run on the video);
without one the result says ``class_agnostic=True`` and every label is
``'action'``.
"""
import copy
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from ..evaluation.functional import AGNOSTIC_LABEL, assign_classes

VIDEO_EXTS = ('.mp4', '.mkv', '.avi', '.webm', '.mov', '.m4v', '.flv')


def init_detector(config: Union[str, Config], checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu',
                  cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build an ETAD model from a config and load a checkpoint.

    With a checkpoint, the encoder's own pretrained weights (``init_cfg`` /
    ``pretrained``) are not downloaded: the checkpoint holds them. The config is
    kept as ``model.cfg``.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    import etad_mmaction  # noqa: F401  (registers everything; compat first)
    from mmaction.registry import MODELS
    if checkpoint is not None and 'encoder' in cfg.model:
        cfg.model.encoder.pop('init_cfg', None)
        cfg.model.encoder.pop('pretrained', None)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        if not osp.isfile(checkpoint) and '://' not in checkpoint:
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        from ..engine import checkpoint_io
        checkpoint_io.apply()       # an unreadable file fails naming it
        # strict: a checkpoint of another model must fail, not leave random weights
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.cfg = cfg
    return model.to(device).eval()


def _video_duration(path: str):
    try:
        import decord
        reader = decord.VideoReader(path, num_threads=1)
        frames, fps = len(reader), float(reader.get_avg_fps())
    except Exception as err:  # decord raises its own DECORDError / RuntimeError
        raise RuntimeError(f'cannot read video {path}: {err}') from None
    if frames == 0 or fps <= 0:
        raise RuntimeError(f'cannot read video {path}: {frames} frames at {fps} fps')
    return frames / fps, fps


def _classifier_scores(classifier, video: str, class_names):
    """(scores [C], class names) from a scores spec or an MMAction2 recognizer."""
    if classifier is None:
        return None, None
    if isinstance(classifier, torch.nn.Module):
        from mmaction.apis import inference_recognizer
        sample = inference_recognizer(classifier, video)
        scores = sample.pred_score.detach().float().cpu().reshape(-1)
        # class probabilities are needed (score x class score); a head without
        # ``average_clips='prob'`` returns logits, which get a softmax
        if (scores < 0).any() or abs(float(scores.sum()) - 1.0) > 1e-3:
            scores = torch.softmax(scores, dim=0)
        scores = scores.numpy().astype(np.float64)
    elif isinstance(classifier, dict):
        scores = np.asarray(classifier['scores'], dtype=np.float64)
        class_names = classifier.get('classes', class_names)
    else:
        scores = np.asarray(classifier, dtype=np.float64)
    if class_names is None:
        class_names = [f'class_{i}' for i in range(len(scores))]
    if isinstance(class_names, str):
        with open(class_names, encoding='utf-8') as f:
            class_names = [line.strip() for line in f if line.strip()]
    if len(class_names) != len(scores):
        raise ValueError(f'{len(scores)} classifier scores but {len(class_names)} class names')
    return scores, list(class_names)


def inference_detector(model: torch.nn.Module, video_or_features: str,
                       classifier=None, class_names: Union[Sequence[str], str, None] = None,
                       duration: Optional[float] = None, top_k: Optional[int] = None,
                       progress: bool = False) -> dict:
    """Detect actions in one video or one feature file.

    Args:
        model: from :func:`init_detector` (``ETADEndToEnd`` for videos, ``ETAD``
            for features).
        video_or_features: a video file, or a feature file (``.npy``/``.pt``/
            ``.csv``) laid out as the config's dataset expects.
        classifier: ``None`` (class-agnostic), video-level class scores
            (sequence, or ``dict(scores=..., classes=...)``) or an MMAction2
            recognizer (``mmaction.apis.init_recognizer``) run on the video
            (its scores as probabilities: logits get a softmax).
        class_names: names of the classifier's classes (list or a .txt file).
        duration: seconds; required for feature files (read from the video
            otherwise).
        top_k: keep the best ``top_k`` detections (default: the evaluator's).
        progress: show a progress bar over windows.

    Returns:
        ``dict(video, duration, class_agnostic, detections=[{segment: [start, end]
        (seconds), label, score}])`` sorted by score.
    """
    from mmaction.registry import DATASETS, METRICS
    cfg = model.cfg
    path = osp.abspath(video_or_features)
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such file: {video_or_features}')
    stem, ext = osp.splitext(osp.basename(path))
    is_video = ext.lower() in VIDEO_EXTS
    end_to_end = hasattr(model, 'encoder')
    if is_video != end_to_end:
        raise ValueError(f'{video_or_features}: a {"video" if is_video else "feature file"} '
                         f'needs an {"end-to-end" if is_video else "feature-based"} config; '
                         f'this model is {type(model).__name__}')
    fps = None
    if is_video:
        duration, fps = _video_duration(path)
    elif duration is None:
        raise ValueError(f'{video_or_features}: pass duration= (seconds) for a feature file')
    scores, names = _classifier_scores(classifier, path, class_names)

    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    entry = dict(subset='test', duration=float(duration), annotations=[])
    if fps:
        entry['fps'] = fps
    for key in ('classifier_file', 'classifier_index', 'exclude_videos', 'synthetic',
                'subset_file', 'classes'):
        ds_cfg.pop(key, None)
    prefix = dict(video=osp.dirname(path)) if is_video else dict(feature=osp.dirname(path))
    ds_cfg.update(ann_file='', annotations=dict(version='inference', database={stem: entry}),
                  data_root='', data_prefix=prefix, subset=None, test_mode=True)
    if is_video:
        ds_cfg['suffix'] = ext
    else:
        ds_cfg['feature_ext'] = ext
    dataset = DATASETS.build(ds_cfg)
    metric_cfg = cfg.get('test_evaluator', None) or dict(type='TADMetric')
    if isinstance(metric_cfg, (list, tuple)):   # several metrics: the TAD one merges
        metric_cfg = next((m for m in metric_cfg if 'TADMetric' in str(m.get('type'))),
                          dict(type='TADMetric'))
    metric_cfg = dict(metric_cfg)
    for key in ('ann_file', 'blocked_file', 'dump_file', 'video_info_file'):
        metric_cfg.pop(key, None)
    metric = METRICS.build(metric_cfg)
    indices = range(len(dataset))
    if progress:
        from tqdm import tqdm
        indices = tqdm(indices, desc=f'ETAD {stem}', unit='window')
    batch = int(cfg.test_dataloader.get('batch_size', 1))
    items = []
    with torch.no_grad():
        for i in indices:
            items.append(dataset[i])
            if len(items) == batch or i == len(dataset) - 1:
                metric.process(None, model.test_step(pseudo_collate(items)))
                items = []
    video = next(iter(metric.group_videos(metric.results).values()))
    segs, sc = metric.merge_windows(video['segments'], video['scores'], video['num_windows'],
                             float(duration))
    order = np.argsort(-sc, kind='stable')
    segs, sc = segs[order], sc[order]
    dets = assign_classes(segs, sc, scores, names, top_k=metric.top_k_classes)
    dets.sort(key=lambda d: -d['score'])
    if top_k is not None:
        dets = dets[:top_k]
    return dict(video=path, duration=float(duration), class_agnostic=scores is None,
                detections=dets, agnostic_label=AGNOSTIC_LABEL if scores is None else None)
