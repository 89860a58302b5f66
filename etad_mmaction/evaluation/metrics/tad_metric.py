"""``TADMetric``: temporal action detection mAP / proposal AR@AN for MMAction2 runners."""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.structures import BaseDataElement

from mmaction.registry import METRICS

from ...structures import segment_nms, segment_soft_nms
from ..functional import (AGNOSTIC_LABEL, assign_classes, average_recall_at_avg_proposals,
                          dump_predictions, get_tiou_thresholds, ground_truth_from_lists,
                          load_blocked, load_ground_truth, map_summary,
                          mean_average_precision, normalize_video_id, tiou_key)

DEFAULT_NMS = dict(type='soft_nms', alpha=0.4, low_threshold=0.5, high_threshold=0.9,
                   relative_to_duration=True)


def _get(obj, key, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _numpy(x, dtype=np.float64) -> Optional[np.ndarray]:
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


@METRICS.register_module()
class TADMetric(BaseMetric):
    """Temporal action detection metric (ActivityNet / THUMOS protocols).

    ``process`` keeps, per sample, ``video_name``, ``pred_instances.segments``
    (seconds) and ``.scores``, ``classifier_scores``, ``gt_video`` and
    ``duration`` (tensors or numpy arrays). ``compute_metrics`` groups samples
    by video, merges windows (concatenation, then ``nms_cfg`` over the union),
    keeps ``top_k`` per video, labels proposals (:func:`assign_classes`) and
    evaluates.

    Args:
        metric_type: ``'detection'`` (mAP) or ``'proposal'`` (AR@AN).
        protocol: ``'anet'`` (tIoU 0.5:0.05:0.95) or ``'thumos'`` (0.3:0.1:0.7).
        tiou_thresholds: custom thresholds (override ``protocol``).
        ann_file: ground truth file (any format of :func:`load_ground_truth`);
            default: the samples' ``gt_video``.
        subset: subset of ``ann_file`` (``None``: all videos of the file).
        video_info_file: ``video,subset`` csv for BSN ``anet_anno`` files.
        blocked_file: json list of video ids removed from gt and predictions.
        nms_cfg: ``dict(type='soft_nms', alpha, low_threshold, high_threshold,
            relative_to_duration)`` (Gaussian Soft-NMS, thresholds relative to
            the video duration when ``relative_to_duration``),
            ``dict(type='nms', iou_threshold)`` or ``None`` (no suppression).
        nms_single_window: also run ``nms_cfg`` on videos with one sample
            (default False: the model already ran Soft-NMS within the sample).
        top_k: detections / proposals kept per video after merging.
        top_k_classes: classes per proposal from ``classifier_scores``.
        agnostic_label: label of the class-agnostic path, used when no sample
            has ``classifier_scores`` (ground truth is relabelled to it too).
        max_avg_proposals: largest AN for AR@AN.
        dump_file: write the submission json here (atomic).
        print_table: log the result table with MMLogger.

    Returns (``compute_metrics``): detection: ``mAP@0.50`` ... one key per
    threshold and ``avg_mAP`` (fractions); proposal: ``AR@1``, ``AR@5``,
    ``AR@10``, ``AR@100``, ``AUC`` (fractions).

    Videos without ground truth are kept: their detections are false
    positives. Classes without ground truth are not part of the mean (as the
    official ActivityNet code).
    """

    default_prefix: Optional[str] = ""  # keys without prefix, no mmengine warning

    def __init__(self,
                 metric_type: str = 'detection',
                 protocol: str = 'anet',
                 tiou_thresholds: Optional[Sequence[float]] = None,
                 ann_file: Optional[str] = None,
                 subset: Optional[str] = None,
                 video_info_file: Optional[str] = None,
                 blocked_file: Optional[str] = None,
                 nms_cfg: Optional[dict] = DEFAULT_NMS,
                 nms_single_window: bool = False,
                 top_k: int = 100,
                 top_k_classes: int = 2,
                 agnostic_label: str = AGNOSTIC_LABEL,
                 max_avg_proposals: float = 100,
                 dump_file: Optional[str] = None,
                 print_table: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if metric_type not in ('detection', 'proposal'):
            raise ValueError(f"metric_type must be 'detection' or 'proposal', got {metric_type!r}")
        if nms_cfg is not None and nms_cfg.get('type', 'soft_nms') not in ('soft_nms', 'nms'):
            raise ValueError(f"nms_cfg type must be 'soft_nms' or 'nms', got {nms_cfg!r}")
        for key, value in (('top_k', top_k), ('top_k_classes', top_k_classes)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value == 0):
                raise ValueError(f'TADMetric: {key}={value!r} keeps no detection; set '
                                 f'test_evaluator.{key} (and val_evaluator.{key}) to a '
                                 'positive integer (-1: all)')
        self.metric_type = metric_type
        self.protocol = protocol
        self.tiou_thresholds = get_tiou_thresholds(protocol, tiou_thresholds)
        self.custom_thresholds = tiou_thresholds is not None
        self.ann_file = ann_file
        self.subset = subset
        self.video_info_file = video_info_file
        self.blocked_file = blocked_file
        self.nms_cfg = None if nms_cfg is None else dict(nms_cfg)
        self.nms_single_window = nms_single_window
        self.top_k = top_k
        self.top_k_classes = top_k_classes
        self.agnostic_label = agnostic_label
        self.max_avg_proposals = max_avg_proposals
        self.dump_file = dump_file
        self.print_table = print_table

    # ------------------------------------------------------------------ process
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the per-sample predictions (numpy) and metainfo needed later."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            name = _get(sample, 'video_name')
            if name is None:
                raise KeyError('TADMetric needs the metainfo key "video_name" in each sample')
            pred = _get(sample, 'pred_instances')
            if pred is None:
                raise KeyError(f'sample of video {name!r} has no pred_instances')
            segments = _numpy(_get(pred, 'segments'))
            scores = _numpy(_get(pred, 'scores'))
            segments = np.zeros((0, 2)) if segments is None else segments.reshape(-1, 2)
            scores = np.zeros(0) if scores is None else scores.reshape(-1)
            if len(segments) != len(scores):
                raise ValueError(f'video {name!r}: {len(segments)} segments but '
                                 f'{len(scores)} scores')
            if not (np.isfinite(segments).all() and np.isfinite(scores).all()):
                raise ValueError(f'TADMetric: the predictions of video {name!r} contain '
                                 'NaN/Inf scores or segments (a diverged model?); they '
                                 'cannot be evaluated or written to a submission')
            gt_video = _get(sample, 'gt_video')
            if gt_video is not None:
                gt_video = [(float(g[0]), float(g[1]),
                             g[2].item() if isinstance(g[2], np.generic) else g[2])
                            for g in gt_video]
            duration = _get(sample, 'duration')
            self.results.append(dict(
                video_name=normalize_video_id(name),
                segments=segments, scores=scores,
                classifier_scores=_numpy(_get(sample, 'classifier_scores')),
                gt_video=gt_video,
                duration=None if duration is None else float(duration)))

    # ------------------------------------------------------------------ helpers
    def group_videos(self, results: List[dict]) -> 'OrderedDict[str, dict]':
        """Processed results (one per window) grouped per video: concatenated
        ``segments``/``scores`` (seconds), ``num_windows``, ``duration``,
        classifier scores and ground truth."""
        videos: 'OrderedDict[str, dict]' = OrderedDict()
        for r in results:
            v = videos.setdefault(r['video_name'], dict(
                segments=[], scores=[], classifier_scores=None, gt_video=None,
                duration=None, num_windows=0))
            v['segments'].append(r['segments'])
            v['scores'].append(r['scores'])
            v['num_windows'] += 1
            if v['classifier_scores'] is None and r['classifier_scores'] is not None:
                v['classifier_scores'] = r['classifier_scores']
            if v['gt_video'] is None and r['gt_video'] is not None:
                v['gt_video'] = r['gt_video']
            if r['duration'] is not None:
                v['duration'] = max(v['duration'] or 0.0, r['duration'])
        for v in videos.values():
            v['segments'] = np.concatenate(v['segments']).reshape(-1, 2)
            v['scores'] = np.concatenate(v['scores']).reshape(-1)
        return videos

    def merge_windows(self, segments: np.ndarray, scores: np.ndarray, num_windows: int,
                      duration: Optional[float]):
        """Suppress duplicates over the union of windows; keep ``top_k`` by score."""
        top_k = -1 if self.top_k is None else int(self.top_k)
        cfg = self.nms_cfg
        if len(scores) and cfg is not None and (num_windows > 1 or self.nms_single_window):
            segs_t = torch.as_tensor(segments, dtype=torch.float64)
            sc_t = torch.as_tensor(scores, dtype=torch.float64)
            if cfg.get('type', 'soft_nms') == 'soft_nms':
                dur = 1.0
                if cfg.get('relative_to_duration', True):
                    dur = duration if duration else float(max(segments[:, 1].max(), 1e-8))
                segs_t, sc_t = segment_soft_nms(
                    segs_t, sc_t, alpha=cfg.get('alpha', 0.4),
                    low_threshold=cfg.get('low_threshold', 0.5),
                    high_threshold=cfg.get('high_threshold', 0.9),
                    top_k=top_k, duration=dur)
            else:
                segs_t, sc_t = segment_nms(segs_t, sc_t, cfg.get('iou_threshold', 0.5),
                                           top_k=top_k)
            return segs_t.numpy(), sc_t.numpy()
        order = np.argsort(-scores, kind='stable')
        if top_k >= 0:
            order = order[:top_k]
        return segments[order], scores[order]

    def _label_name(self, label, classes):
        if isinstance(label, (int, np.integer)) and classes is not None:
            return str(classes[int(label)])
        return str(label)

    # ------------------------------------------------------------------ compute
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Merge windows, label, evaluate; returns fractions in [0, 1]."""
        videos = self.group_videos(results)
        classes = (self.dataset_meta or {}).get('classes')
        has_cls = [v['classifier_scores'] is not None for v in videos.values()]
        agnostic = self.metric_type == 'proposal' or not any(has_cls)
        if self.metric_type == 'detection' and any(has_cls) and not all(has_cls):
            missing = [n for n, h in zip(videos, has_cls) if not h][:5]
            raise ValueError(f'classifier_scores missing for some videos, e.g. {missing}; '
                             'give them for all videos or none (class-agnostic)')
        if self.metric_type == 'detection' and not agnostic and classes is None:
            raise ValueError("TADMetric needs dataset_meta['classes'] to name classes")

        # ground truth
        if self.ann_file is not None:
            gt = load_ground_truth(self.ann_file, subset=self.subset,
                                   video_info_file=self.video_info_file)
        else:
            gt = ground_truth_from_lists(
                {n: [(s, e, self._label_name(lab, classes)) for s, e, lab in v['gt_video']]
                 for n, v in videos.items() if v['gt_video'] is not None},
                durations={n: v['duration'] for n, v in videos.items()})
        if agnostic:
            gt = OrderedDict((k, dict(v, labels=[self.agnostic_label] * len(v['labels'])))
                             for k, v in gt.items())
        blocked = load_blocked(self.blocked_file)

        # predictions
        preds: 'OrderedDict[str, list]' = OrderedDict()
        for name, v in videos.items():
            duration = v['duration'] or (gt[name]['duration'] if name in gt else None)
            segs, scores = self.merge_windows(v['segments'], v['scores'], v['num_windows'],
                                              duration)
            if self.metric_type == 'proposal':
                preds[name] = [dict(score=float(s), segment=[float(a), float(b)])
                               for (a, b), s in zip(segs.tolist(), scores.tolist())]
            else:
                preds[name] = assign_classes(
                    segs, scores, None if agnostic else v['classifier_scores'],
                    classes, top_k=self.top_k_classes, agnostic_label=self.agnostic_label)
        if self.dump_file is not None:
            dump_predictions(preds, self.dump_file)

        logger = MMLogger.get_current_instance()
        if not any(len(v['labels']) for k, v in gt.items() if k not in blocked):
            logger.warning('TADMetric: no ground-truth instances; nothing to evaluate')
            keys = ([tiou_key('mAP', t) for t in self.tiou_thresholds] + ['avg_mAP']
                    if self.metric_type == 'detection'
                    else ['AR@1', 'AR@5', 'AR@10', 'AR@100', 'AUC'])
            return OrderedDict((k, float('nan')) for k in keys)

        if self.metric_type == 'proposal':
            res = average_recall_at_avg_proposals(
                gt, preds, max_avg_proposals=self.max_avg_proposals,
                tiou_thresholds=self.tiou_thresholds, blocked=blocked)
            out = OrderedDict((k, v) for k, v in res.items() if k.startswith('AR@'))
            out['AUC'] = res['AUC']
            if self.print_table:
                logger.info('\n' + _table(list(out), [list(out.values())], 'AR@AN (%)'))
            return out

        # model output: inverted refined segments are false positives (tIoU 0)
        res = mean_average_precision(gt, preds, tiou_thresholds=self.tiou_thresholds,
                                     blocked=blocked, warn=False, allow_inverted=True)
        notes = []
        if res['num_ignored']:
            notes.append(f'{res["num_ignored"]} detections with labels absent from the '
                         'ground truth ignored (expected with top-k class fusion)')
        if res['num_unknown_video_predictions']:
            notes.append(f'{res["num_unknown_video_predictions"]} detections of '
                         f'{len(res["unknown_videos"])} video(s) absent from the ground '
                         'truth counted as false positives')
        if res['num_inverted']:
            notes.append(f'{res["num_inverted"]} detections with start > end counted as '
                         'false positives')
        if notes:
            logger.info('TADMetric: ' + '; '.join(notes))
        out = map_summary(res)
        if self.print_table:
            thr = self.tiou_thresholds
            if self.protocol in ('anet', 'activitynet') and not self.custom_thresholds:
                shown = [t for t in thr if any(np.isclose(t, (0.5, 0.75, 0.95)))]
            else:
                shown = list(thr)
            header = [f'{t:.2f}' for t in shown] + ['Avg']
            row = [out[tiou_key('mAP', t)] for t in shown] + [out['avg_mAP']]
            title = (f'mAP (%), mean over the {len(res["classes"])} classes with ground '
                     'truth in the evaluated videos') + (' (class-agnostic)' if agnostic else '')
            logger.info('\n' + _table(header, [row], title))
        return out


def _table(header: List[str], rows: List[List[float]], title: str) -> str:
    """Plain text table, values in percent."""
    cells = [header] + [[f'{100 * x:.2f}' for x in r] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    fmt = lambda r: '| ' + ' | '.join(c.rjust(w) for c, w in zip(r, widths)) + ' |'  # noqa: E731
    return '\n'.join([title, line, fmt(cells[0]), line] + [fmt(r) for r in cells[1:]] + [line])
