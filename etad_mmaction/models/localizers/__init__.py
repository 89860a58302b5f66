from .etad import ETAD
from .etad_e2e import ETADEndToEnd

__all__ = ['ETAD', 'ETADEndToEnd']
