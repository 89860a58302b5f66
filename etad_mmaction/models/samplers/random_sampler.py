"""Random sampling (Sec. 3.3, heuristic): uniform without replacement."""
import torch
from mmaction.registry import TASK_UTILS

from .base_sampler import BaseSampler
from .seeding import counter_hash


def smallest_keys(keys: torch.Tensor, k: int) -> torch.Tensor:
    """Sorted indices of the ``k`` smallest entries of each row of ``keys [B, n]``."""
    return torch.sort(torch.topk(keys, k, dim=1, largest=False).indices, dim=1).values


@TASK_UTILS.register_module()
class RandomSampler(BaseSampler):
    """``k`` of ``n`` candidates uniformly at random: per video, the ``k``
    candidates with the smallest hashes ``counter_hash(key, index)`` (a uniformly
    random ``k``-subset); needs no inputs besides ``num``."""

    batched = True

    def sample_batch(self, keys, num, *, coords=None, features=None, ious=None, scales=None,
                     plan=None):
        index = torch.arange(num, device=keys.device)
        return smallest_keys(counter_hash(keys.view(-1, 1), index.view(1, -1)),
                             self.num_samples(num))
