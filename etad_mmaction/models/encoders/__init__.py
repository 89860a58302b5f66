from .egs import EGS_MODES, EncoderGradientSampling
from .snippet_encoder import SnippetEncoder

__all__ = ['SnippetEncoder', 'EncoderGradientSampling', 'EGS_MODES']
