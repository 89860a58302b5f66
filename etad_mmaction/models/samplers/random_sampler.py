"""Random sampling (Sec. 3.3, heuristic): uniform without replacement."""
import torch
from mmaction.registry import TASK_UTILS

from .base_sampler import BaseSampler


@TASK_UTILS.register_module()
class RandomSampler(BaseSampler):
    """``k`` of ``n`` candidates uniformly at random (``torch.randperm`` on the
    given generator); needs no inputs besides ``num``."""

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        return torch.randperm(num, generator=generator)[:k]
