"""Block sampling (Sec. 3.3, heuristic): consecutive snippets, or a block of the
proposal map."""
import math

import torch
import torch.nn.functional as F
from mmaction.registry import TASK_UTILS

from ._common import split_coords
from .base_sampler import BaseSampler


@TASK_UTILS.register_module()
class BlockSampler(BaseSampler):
    """One contiguous block at a random position (drawn from the generator).

    - 1-D (``coords`` ``None`` / ``[n, 1]``): ``k`` consecutive candidates in
      position order, starting uniformly in ``[0, n - k]`` (a trimmed clip).
    - 2-D (``coords`` ``[n, 2]`` = ``(start, end)``): the map is laid out in
      **(start, length)** coordinates; a ``w x w`` window with the smallest
      ``w >= ceil(sqrt(k))`` that can hold ``k`` valid proposals is placed
      uniformly among the positions that do, and its first ``k`` valid proposals
      in raster order (start-major, from the window's top-left corner) are taken:
      full rows of ``w`` lengths plus one partial row, a 4-connected region.
    """

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        u, v = split_coords(num, coords)
        if v is None:
            order = torch.argsort(u, stable=True)
            first = int(torch.randint(0, num - k + 1, (1,), generator=generator))
            return order[first:first + k]
        size_u, size_v = int(u.max()) + 1, int(v.max()) + 1
        index_map = torch.full((size_u, size_v), -1, dtype=torch.long)
        index_map[u, v] = torch.arange(num)
        integral = F.pad((index_map >= 0).long().cumsum(0).cumsum(1), (1, 0, 1, 0))
        w = max(1, math.ceil(math.sqrt(k)))
        while True:  # smallest window that can hold k proposals somewhere
            wu, wv = min(w, size_u), min(w, size_v)
            counts = (integral[wu:, wv:] - integral[:-wu, wv:]
                      - integral[wu:, :-wv] + integral[:-wu, :-wv])
            valid = torch.nonzero(counts >= k)
            if len(valid) or (wu == size_u and wv == size_v):
                break
            w += 1
        pick = valid[int(torch.randint(0, len(valid), (1,), generator=generator))]
        i, j = int(pick[0]), int(pick[1])
        window = index_map[i:i + wu, j:j + wv].reshape(-1)  # raster order
        return window[window >= 0][:k]
