from .conv_enhancement import ConvFeatureEnhancement
from .lstm_enhancement import LSTMFeatureEnhancement
from .transformer_enhancement import TransformerFeatureEnhancement

__all__ = ['ConvFeatureEnhancement', 'LSTMFeatureEnhancement', 'TransformerFeatureEnhancement']
