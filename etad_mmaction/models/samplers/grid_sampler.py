"""Grid sampling (Sec. 3.3, heuristic; Fig. 3): a regular stride over snippets or
over the proposal map."""
import torch
from mmaction.registry import TASK_UTILS
from torch import Tensor

from ._common import check_choice, split_coords
from .base_sampler import BaseSampler


def even_ranks(m: int, k: int, offset: float) -> Tensor:
    """``k`` distinct ranks ``floor((i + offset) * m / k)`` of ``m >= k`` items."""
    if offset == 0.5:  # exact integer arithmetic for the default
        return torch.div((2 * torch.arange(k) + 1) * m, 2 * k, rounding_mode='floor')
    pos = (torch.arange(k, dtype=torch.float64) + offset) * (m / k)
    return pos.floor().long().clamp_(0, m - 1)


@TASK_UTILS.register_module()
class GridSampler(BaseSampler):
    """Deterministic, evenly spread candidates.

    - 1-D (``coords`` ``None`` / ``[n, 1]``): the candidates ordered by position,
      ranks ``floor((i + o) * n / k)``, ``i < k`` (stride ``n / k``).
    - 2-D (``coords`` ``[n, 2]`` = ``(start, end)`` of the map): a lattice in
      **(start, length)** coordinates with strides ``(a, b)``, the sparsest
      (near-)square lattice still holding ``>= k`` valid proposals, thinned to
      exactly ``k`` by even ranks in raster (start, then length) order.

    Args:
        ratio (float): fraction kept.
        offset (str): ``'center'`` (default, ``o = 1/2``, lattice offset
            ``(stride - 1) // 2``), ``'start'`` (``o = 0``, lattice through the
            origin) or ``'random'`` (offsets drawn from the generator: jittered grid).
    """

    OFFSETS = ('center', 'start', 'random')

    def __init__(self, ratio: float = 0.06, offset: str = 'center'):
        super().__init__(ratio)
        check_choice(type(self).__name__, 'offset', offset, self.OFFSETS)
        self.offset = offset
        self.batched = offset != 'random'

    def plan(self, num, coords=None):
        if not self.batched:
            return {}
        k = self.num_samples(num)
        index = (torch.arange(num) if k == num else
                 self._sample(num, k, coords=coords, features=None, ious=None, scales=None,
                              generator=None))
        return dict(index=torch.sort(index.long()).values.view(1, -1))

    def sample_batch(self, keys, num, *, coords=None, features=None, ious=None, scales=None,
                     plan=None):
        if not self.batched:
            return super().sample_batch(keys, num, coords=coords, features=features,
                                        ious=ious, scales=scales)
        plan = plan or {n: v.to(keys.device) for n, v in self.plan(num, coords).items()}
        return plan['index'].expand(keys.shape[0], -1)

    def _fractions(self, generator):
        if self.offset == 'center':
            return 0.5, 0.5, 0.5
        if self.offset == 'start':
            return 0.0, 0.0, 0.0
        u = torch.rand(3, generator=generator, dtype=torch.float64)
        return tuple(float(x) for x in u)

    def _lattice_offset(self, fraction: float, stride: int) -> int:
        if self.offset == 'center':
            return (stride - 1) // 2
        return min(int(fraction * stride), stride - 1)

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        u, v = split_coords(num, coords)
        fu, fv, fr = self._fractions(generator)
        if v is None:
            order = torch.argsort(u, stable=True)
            return order[even_ranks(num, k, fr)]
        extent = int(max(u.max(), v.max())) + 1
        best = None  # (count, anisotropic, mask) of the sparsest lattice with >= k
        for s in range(1, extent + 1):
            square_count = None
            for a, b in ((s, s), (s, s + 1), (s + 1, s)):
                mask = (u % a == self._lattice_offset(fu, a)) \
                    & (v % b == self._lattice_offset(fv, b))
                count = int(mask.sum())
                if a == b:
                    square_count = count
                if count >= k and (best is None or (count, a != b) < best[:2]):
                    best = (count, a != b, mask)
            if square_count < k:
                break
        index = torch.nonzero(best[2]).squeeze(1)
        key = u[index] * (int(v.max()) + 1) + v[index]
        index = index[torch.argsort(key, stable=True)]
        return index[even_ranks(index.numel(), k, fr)]
