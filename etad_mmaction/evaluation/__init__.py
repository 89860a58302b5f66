"""Evaluation: plain functions (``functional``) and registered metrics (``metrics``)."""
from . import functional, metrics  # noqa: F401
from .metrics import TADMetric

__all__ = ['functional', 'metrics', 'TADMetric']
