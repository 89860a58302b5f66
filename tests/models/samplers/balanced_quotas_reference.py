"""Test-only reference: the per-video water filling of the balanced samplers as a
Python loop (``batched_quotas`` is the tensor version the samplers use)."""
from typing import List, Sequence

import torch


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
