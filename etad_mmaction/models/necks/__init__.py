from .lstm_enhancement import LSTMFeatureEnhancement

__all__ = ['LSTMFeatureEnhancement']
