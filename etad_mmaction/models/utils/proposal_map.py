"""The dense proposal map of ETAD (Section 3.2.2): every valid ``(start, end)`` pair."""
from functools import lru_cache

import torch
from torch import Tensor


def num_valid_proposals(num_snippets: int, max_duration: int) -> int:
    """Number of pairs with ``0 <= start < end <= T`` and ``end - start <= D``."""
    t, d = num_snippets, min(max_duration, num_snippets)
    return sum(min(d, t - s) for s in range(t))


@lru_cache(maxsize=16)
def _valid_proposals_cpu(num_snippets: int, max_duration: int) -> Tensor:
    if num_snippets < 1 or max_duration < 1:
        raise ValueError(f'num_snippets ({num_snippets}) and max_duration '
                         f'({max_duration}) must be positive')
    start = torch.arange(num_snippets).view(-1, 1)
    length = torch.arange(1, max_duration + 1).view(1, -1)
    end = start + length  # [T, D]
    valid = end <= num_snippets
    pairs = torch.stack([start.expand_as(end)[valid], end[valid]], dim=1)
    return pairs  # ordered by start, then end


def valid_proposals(num_snippets: int, max_duration: int, device=None) -> Tensor:
    """Integer ``[N, 2]`` tensor of valid proposals ``(start, end)`` in snippet units,
    ordered by start then end; ``N = 8256`` at ``T = D = 128``. Cached per shape."""
    pairs = _valid_proposals_cpu(int(num_snippets), int(max_duration))
    return pairs if device is None else pairs.to(device)
