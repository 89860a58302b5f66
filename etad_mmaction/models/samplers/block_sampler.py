"""Block sampling (Sec. 3.3, heuristic): consecutive snippets, or a block of the
proposal map."""
import math

import torch
import torch.nn.functional as F
from mmaction.registry import TASK_UTILS

from ._common import split_coords
from .base_sampler import BaseSampler
from .seeding import counter_hash


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

    :meth:`plan` finds, once, the candidates in position order (1-D) or the map,
    the window size and the window positions that hold ``k`` proposals (2-D);
    :meth:`sample_batch` draws one position per video from its key.
    """

    batched = True

    def plan(self, num, coords=None):
        k = self.num_samples(num)
        u, v = split_coords(num, coords)
        if v is None:
            return dict(order=torch.argsort(u, stable=True))
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
        du, dv = torch.meshgrid(torch.arange(wu), torch.arange(wv), indexing='ij')
        return dict(index_map=index_map, corners=valid,
                    cells=torch.stack([du.reshape(-1), dv.reshape(-1)], dim=1))  # raster order

    def sample_batch(self, keys, num, *, coords=None, features=None, ious=None, scales=None,
                     plan=None):
        k = self.num_samples(num)
        plan = plan or {n: t.to(keys.device) for n, t in self.plan(num, coords).items()}
        bits = counter_hash(keys.view(-1, 1), keys.new_zeros(1, 1))          # [B, 1]
        if 'order' in plan:                  # 1-D: k consecutive from a uniform first
            first = (bits * (num - k + 1)) >> 32
            index = plan['order'][first + torch.arange(k, device=keys.device)]
            return torch.sort(index, dim=1).values
        corners = plan['corners']
        corner = corners[((bits * corners.shape[0]) >> 32).view(-1)]         # [B, 2]
        cells = corner.unsqueeze(1) + plan['cells']                        # [B, w*w, 2]
        window = plan['index_map'][cells[..., 0], cells[..., 1]]            # [B, w*w]
        first = torch.argsort((window < 0).to(torch.uint8), dim=1, stable=True)[:, :k]
        return torch.sort(torch.gather(window, 1, first), dim=1).values
