"""Label-guided sampling (Sec. 3.3): equal numbers of proposals per IoU bin or
per scale bin."""
import math
from typing import Sequence

import torch
from mmaction.registry import TASK_UTILS
from torch import Tensor

from .base_sampler import BaseSampler
from .seeding import counter_hash


def batched_quotas(capacity: Tensor, k: int, bin_keys: Tensor) -> Tensor:
    """Split ``k`` into per-bin counts as equal as possible (water filling), for a
    batch in tensor operations: ``capacity [B, bins]`` (``k <= sum`` per row),
    ``bin_keys [B, bins]`` random keys that pick the bins of the last ``k mod``
    units -> quotas ``[B, bins]``. A bin with fewer candidates than its share
    gives all of them and the remainder is shared among the others.

    Water filling ends with every bin at ``min(capacity, L)`` for the largest
    level ``L`` with ``sum(min(capacity, L)) <= k``; with the capacities sorted,
    ``L`` is ``(k - sum of the j smallest) // (bins - j)`` for the first ``j``
    whose level stays below the ``j``-th capacity. The remaining units go to as
    many distinct bins, among those above ``L``, with the smallest keys.
    """
    nb = capacity.shape[1]
    caps = torch.sort(capacity, dim=1).values
    below = torch.cumsum(caps, dim=1) - caps                            # sum of smaller bins
    levels = torch.div(k - below, nb - torch.arange(nb, device=caps.device),
                       rounding_mode='floor')
    first = (torch.cumsum((levels < caps).long(), dim=1) == 0).sum(dim=1, keepdim=True)
    level = torch.where(first < nb, torch.gather(levels, 1, first.clamp(max=nb - 1)),
                        caps[:, -1:])
    quota = torch.minimum(capacity, level)
    left = k - quota.sum(dim=1, keepdim=True)
    open_bins = capacity > level
    rank = torch.argsort(torch.argsort(torch.where(open_bins, bin_keys, 2**33), dim=1), dim=1)
    return quota + (open_bins & (rank < left)).long()


class _BinBalancedSampler(BaseSampler):
    """Bins ``[edges[i], edges[i + 1])`` (the last one closed) of a per-candidate
    value; values outside ``[edges[0], edges[-1]]`` join the first / last bin.
    Equal counts per bin (see :func:`batched_quotas`), uniform within a bin.

    Batched (:meth:`sample_batch`): per video, the candidates are ranked within
    their bin by ``counter_hash(key, index)`` and each bin gives its quota of the
    lowest ranks (:func:`batched_quotas`, bin draws at counters ``n + bin``)."""

    key = ''
    default_bins = (0.0, 0.3, 0.7, 1.0)
    batched = True

    def __init__(self, ratio: float = 0.06, bins: Sequence[float] = None):
        super().__init__(ratio)
        bins = self.default_bins if bins is None else bins
        try:
            edges = [float(b) for b in bins]
        except (TypeError, ValueError):
            edges = []
        if len(edges) < 2 or any(not math.isfinite(e) for e in edges) \
                or any(a >= b for a, b in zip(edges, edges[1:])):
            raise ValueError(f'{type(self).__name__}: `bins` must be >= 2 increasing '
                             f'finite edges, got {bins!r}')
        self.bins = tuple(edges)

    def bin_index(self, values: Tensor) -> Tensor:
        """Bin of each value (any shape, on its device), in ``[0, len(bins) - 1)``."""
        inner = torch.tensor(self.bins[1:-1], dtype=values.dtype, device=values.device)
        return torch.bucketize(values, inner, right=True)

    def sample_batch(self, keys, num, *, coords=None, features=None, ious=None, scales=None,
                     plan=None):
        values = dict(ious=ious, scales=scales)[self.key]
        if values is None:
            raise ValueError(f'{type(self).__name__} needs `{self.key}` to sample')
        values = values.detach().contiguous()
        k, nb = self.num_samples(num), len(self.bins) - 1
        which = self.bin_index(values)                                      # [B, n]
        capacity = (which.unsqueeze(-1) == torch.arange(nb, device=which.device)).sum(1)
        keys = keys.view(-1, 1)
        counters = torch.arange(num + nb, device=keys.device).view(1, -1)
        bits = counter_hash(keys, counters)
        quota = batched_quotas(capacity, k, bits[:, num:])
        order = torch.argsort(which * 2**32 + bits[:, :num], dim=1)        # by bin, then key
        position = torch.empty_like(order).scatter_(
            1, order, torch.arange(num, device=order.device).expand_as(order))
        start = torch.cumsum(capacity, dim=1) - capacity
        rank = position - torch.gather(start, 1, which)                     # rank in its bin
        chosen = rank < torch.gather(quota, 1, which)                       # k per video
        picked = torch.argsort((~chosen).to(torch.uint8), dim=1, stable=True)[:, :k]
        return picked

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio}, bins={self.bins})'


@TASK_UTILS.register_module()
class IoUBalancedSampler(_BinBalancedSampler):
    """Same number of proposals per IoU bin of ``ious`` ``[n]`` (max tIoU with the
    ground truth); default bins ``[0, 0.3), [0.3, 0.7), [0.7, 1]``."""

    key = 'ious'
    requires = ('ious',)


@TASK_UTILS.register_module()
class ScaleBalancedSampler(_BinBalancedSampler):
    """Same number of proposals per scale bin of ``scales`` ``[n]`` (relative
    length in [0, 1]); default small ``< 0.3``, middle, large ``>= 0.7``."""

    key = 'scales'
    requires = ('scales',)
