"""Plain numpy evaluation functions: loaders, detection AP/mAP, AR@AN, class assignment."""
from .class_assignment import AGNOSTIC_LABEL, assign_classes
from .detection import (ANET_TIOU_THRESHOLDS, THUMOS_TIOU_THRESHOLDS,
                        average_precision_detection, get_tiou_thresholds,
                        interpolated_prec_rec, map_summary, match_predictions,
                        mean_average_precision, pairwise_segment_iou, segment_iou,
                        tiou_key)
from .io import (detect_ground_truth_format, dump_predictions, ground_truth_from_lists,
                 load_blocked, load_ground_truth, load_json, load_predictions,
                 load_video_subsets)
from .proposal import average_recall_at_avg_proposals
from .video_ids import normalize_video_id

__all__ = [
    'normalize_video_id', 'load_ground_truth', 'ground_truth_from_lists',
    'detect_ground_truth_format', 'load_video_subsets', 'load_blocked',
    'load_predictions', 'dump_predictions', 'segment_iou', 'pairwise_segment_iou',
    'interpolated_prec_rec', 'match_predictions', 'average_precision_detection',
    'mean_average_precision', 'map_summary', 'tiou_key', 'get_tiou_thresholds',
    'ANET_TIOU_THRESHOLDS', 'THUMOS_TIOU_THRESHOLDS', 'average_recall_at_avg_proposals',
    'assign_classes', 'AGNOSTIC_LABEL', 'load_json'
]
