"""Registered evaluation metrics."""
from .tad_metric import TADMetric

__all__ = ['TADMetric']
