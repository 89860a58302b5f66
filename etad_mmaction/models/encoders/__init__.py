from .egs import EGS_MODES, EncoderGradientSampling
from .r2plus1d_tv import ResNet2Plus1dTV  # noqa: F401
from .snippet_encoder import SnippetEncoder

__all__ = ['SnippetEncoder', 'EncoderGradientSampling', 'EGS_MODES']
