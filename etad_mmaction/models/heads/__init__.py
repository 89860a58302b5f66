from .boundary_head import BoundaryHead
from .proposal_head import CascadeProposalHead, ProposalEvaluationStage

__all__ = ['BoundaryHead', 'CascadeProposalHead', 'ProposalEvaluationStage']
