from .etad_roi_head import ETADRoIHead, released_code_masks
from .proposal_evaluation_head import ProposalEvaluationHead
from .temporal_roi_extractor import TemporalRoIExtractor, roi_align_taps

__all__ = ['ETADRoIHead', 'ProposalEvaluationHead', 'TemporalRoIExtractor',
           'released_code_masks', 'roi_align_taps']
