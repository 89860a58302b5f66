"""Plain tensor operations on temporal segments shared by models, metrics and tools."""
from .segments import (batched_segment_soft_nms, pairwise_tiou, segment_gaussian_soft_nms,
                       segment_nms, segment_soft_nms, segment_tiou)

__all__ = ['pairwise_tiou', 'segment_tiou', 'segment_nms', 'segment_soft_nms',
           'segment_gaussian_soft_nms', 'batched_segment_soft_nms']
