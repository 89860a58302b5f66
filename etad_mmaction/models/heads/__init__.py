from .boundary_head import BoundaryHead

__all__ = ['BoundaryHead']
