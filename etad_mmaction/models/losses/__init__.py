from .etad_loss import ETADLoss, balanced_bce

__all__ = ['ETADLoss', 'balanced_bce']
