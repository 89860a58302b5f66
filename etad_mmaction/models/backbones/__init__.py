"""Backbone variants registered in ``mmaction.registry.MODELS``."""
from .r2plus1d_tv import ResNet2Plus1dTV

__all__ = ['ResNet2Plus1dTV']
