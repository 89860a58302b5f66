from .parallel_mlp import ParallelMLP
from .post_processing import boundary_selection_mask, select_and_suppress, to_video_time
from .proposal_map import num_valid_proposals, valid_proposals
from .roi_align import temporal_roi_align
from .targets import pad_segments, proposal_targets, snippet_boundary_targets

__all__ = ['ParallelMLP', 'boundary_selection_mask', 'select_and_suppress', 'to_video_time',
           'num_valid_proposals', 'valid_proposals',
           'temporal_roi_align', 'pad_segments', 'proposal_targets',
           'snippet_boundary_targets']
