"""Plain operations shared by datasets, models, metrics and tools: temporal segments
(tIoU, NMS) and video ids."""
from .segments import (pairwise_tiou, segment_gaussian_soft_nms, segment_nms,
                       segment_soft_nms, segment_tiou)
from .video_ids import build_id_index, lookup_id, normalize_video_id, video_id_candidates

__all__ = ['pairwise_tiou', 'segment_tiou', 'segment_nms', 'segment_soft_nms',
           'segment_gaussian_soft_nms', 'normalize_video_id', 'video_id_candidates',
           'build_id_index', 'lookup_id']
