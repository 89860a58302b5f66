"""Label-guided sampling (Sec. 3.3): equal numbers of proposals per IoU bin or
per scale bin."""
import math
from typing import List, Sequence

import torch
from mmaction.registry import TASK_UTILS
from torch import Tensor

from .base_sampler import BaseSampler


def balanced_quotas(capacity: Sequence[int], k: int, generator: torch.Generator) -> List[int]:
    """Split ``k <= sum(capacity)`` into per-bin counts as equal as possible
    (water filling): a bin with fewer candidates than its share gives all of them
    and the remainder is shared among the others; the last ``k mod bins`` units
    go to bins chosen at random (from the generator)."""
    if k > sum(capacity):
        raise ValueError(f'cannot take {k} from {sum(capacity)} candidates')
    quota = [0] * len(capacity)
    left = k
    open_bins = [b for b, cap in enumerate(capacity) if cap > 0]
    while left > 0:
        share = left // len(open_bins)
        if share == 0:
            chosen = torch.randperm(len(open_bins), generator=generator)[:left]
            for pos in chosen.tolist():
                quota[open_bins[pos]] += 1
            break
        for b in open_bins:
            add = min(share, capacity[b] - quota[b])
            quota[b] += add
            left -= add
        open_bins = [b for b in open_bins if quota[b] < capacity[b]]
    return quota


class _BinBalancedSampler(BaseSampler):
    """Bins ``[edges[i], edges[i + 1])`` (the last one closed) of a per-candidate
    value; values outside ``[edges[0], edges[-1]]`` join the first / last bin.
    Equal counts per bin (see :func:`balanced_quotas`), uniform within a bin."""

    key = ''
    default_bins = (0.0, 0.3, 0.7, 1.0)

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
        """Bin of each value, in ``[0, len(bins) - 1)``."""
        inner = torch.tensor(self.bins[1:-1], dtype=torch.float64)
        return torch.bucketize(values.reshape(-1).double(), inner, right=True)

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        values = dict(ious=ious, scales=scales)[self.key].detach().to('cpu')
        if values.is_floating_point() and torch.isnan(values).any():
            raise ValueError(f'{type(self).__name__}: `{self.key}` contain NaN')
        which = self.bin_index(values)
        members = [torch.nonzero(which == b).squeeze(1) for b in range(len(self.bins) - 1)]
        quota = balanced_quotas([len(m) for m in members], k, generator)
        picks = [m[torch.randperm(len(m), generator=generator)[:q]]
                 for m, q in zip(members, quota) if q > 0]
        return torch.cat(picks)

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
