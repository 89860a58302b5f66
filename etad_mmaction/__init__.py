"""ETAD for MMAction2: efficient temporal action detection with Detector Proposal
Sampling and Encoder Gradient Sampling, as registered MMAction2 components."""
from . import compat

compat.apply()  # must run before anything imports mmaction.models

from .version import __version__  # noqa: E402
from . import models, datasets, evaluation, engine  # noqa: E402,F401

__all__ = ['__version__', 'compat']
