from .etad import ETAD

__all__ = ['ETAD']
