"""Farthest point sampling (Sec. 3.3, feature-guided; App. H, Alg. 2)."""
import contextlib

import torch
from mmaction.registry import TASK_UTILS

from ._common import check_choice
from .base_sampler import BaseSampler

try:  # optional accelerated backend (``pip install etad-mmaction[fps]``)
    import torch_cluster
except ImportError:  # pragma: no cover - depends on the environment
    torch_cluster = None


def _full_precision(features: torch.Tensor) -> torch.Tensor:
    """float64 stays, anything else (fp16/bf16 RoI features, integers) -> float32:
    in half precision ``|x|^2 - 2 x.p + |p|^2`` cancels and the picks change."""
    return features if features.dtype == torch.float64 else features.float()


def _no_autocast(device: torch.device):
    """Autocast off for the distance products (bf16/fp16 ``mv``/``bmm`` under AMP)."""
    try:
        return torch.autocast(device.type, enabled=False)
    except RuntimeError:  # pragma: no cover - a device type without autocast ('meta')
        return contextlib.nullcontext()


def farthest_point_sampling(features: torch.Tensor, k: int, first: int) -> torch.Tensor:
    """Indices of ``k`` farthest-first points of ``features`` ``[n, c]``, in pick
    order, starting at ``first``: every new pick maximises the Euclidean distance
    to its nearest already-picked point (ties: lowest index).

    O(n c k) with a running min-distance vector; one matrix-vector product per
    pick, ``|x - p|^2 = |x|^2 - 2 x.p + |p|^2`` on mean-centred features (exact in
    float64; float32 inputs give float32-accurate distances). Half-precision
    inputs are computed in float32, with autocast disabled.
    """
    with _no_autocast(features.device):
        return _fps(_full_precision(features), k, first)


def _fps(features, k, first):
    n = features.shape[0]
    x = features - features.mean(dim=0, keepdim=True)
    sq = x.pow(2).sum(1)
    picks = torch.empty(k, dtype=torch.long, device=x.device)
    min_dist = torch.full((n,), float('inf'), dtype=x.dtype, device=x.device)
    last = torch.tensor(first, device=x.device)
    for t in range(k):
        picks[t] = last
        if t == k - 1:
            break
        point = x[last]
        dist = torch.mv(x, point).mul_(-2.0).add_(sq).add_(sq[last]).clamp_min_(0.0)
        torch.minimum(min_dist, dist, out=min_dist)
        min_dist[last] = -1.0  # never pick twice, even among duplicates
        last = torch.argmax(min_dist)
    return picks


def farthest_point_sampling_batch(features: torch.Tensor, k: int,
                                  first: torch.Tensor) -> torch.Tensor:
    """:func:`farthest_point_sampling` of every video of a batch at once:
    ``features [B, n, c]``, ``first [B]`` -> ``[B, k]`` picks in pick order.

    One loop of ``k`` steps over the batch (one batched matrix-vector product per
    step), on the features' device; no host synchronisation inside the loop.
    Half-precision inputs are computed in float32, with autocast disabled.
    """
    with _no_autocast(features.device):
        return _fps_batch(_full_precision(features), k, first)


def _fps_batch(features, k, first):
    b, n = features.shape[:2]
    x = features - features.mean(dim=1, keepdim=True)
    sq = x.pow(2).sum(2)                                             # [B, n]
    xt = x.transpose(1, 2)
    rows = torch.arange(b, device=x.device)
    picks = torch.empty(b, k, dtype=torch.long, device=x.device)
    min_dist = torch.full((b, n), float('inf'), dtype=x.dtype, device=x.device)
    last = first.to(device=x.device, dtype=torch.long)
    for t in range(k):
        picks[:, t] = last
        if t == k - 1:
            break
        point = x[rows, last]                                        # [B, c]
        # [B, 1, c] x [B, c, n]: the row form runs as fast as per-video mv on the CPU
        dist = torch.bmm(point.unsqueeze(1), xt).squeeze(1).mul_(-2.0).add_(sq)
        dist.add_(sq[rows, last].unsqueeze(1)).clamp_min_(0.0)
        torch.minimum(min_dist, dist, out=min_dist)
        min_dist[rows, last] = -1.0
        last = torch.argmax(min_dist, dim=1)
    return picks


@TASK_UTILS.register_module()
class FPSSampler(BaseSampler):
    """Farthest point sampling in Euclidean feature space (``features`` ``[n, c]``).

    Args:
        ratio (float): fraction kept.
        start (str): ``'random'`` (default; first point drawn from the generator)
            or ``'first'`` (index 0).
        backend (str): ``'auto'`` (``torch_cluster.fps`` when importable, else
            torch), ``'torch'`` or ``'torch_cluster'`` (must be installed). The
            start point always comes from our generator: ``torch_cluster`` is
            called with ``random_start=False`` on inputs with that point moved
            first, so both backends pick the same set (up to distance ties).
        cpu_per_video (bool): in :meth:`sample_batch` on the CPU, loop over the
            videos (default, faster) instead of the batched loop; ``False``
            forces the batched loop (used by the tests to check it on the CPU).

    :meth:`sample_batch` (a batch of videos, torch backend) runs
    :func:`farthest_point_sampling_batch` on the features' device: the same
    picks as the per-video calls (each video's first point drawn from a
    generator seeded by its key), in one loop of ``k`` steps over ``[B, n, c]``
    on an accelerator; on the CPU it loops over the videos (measured 3.5x faster
    per video at n = 8,256: one video's features stay in cache). With the
    ``torch_cluster`` backend (``'auto'`` when it is installed) every video is a
    separate ``torch_cluster.fps`` call. Distances are computed in float32 (or
    float64) with autocast disabled, whatever the features' dtype.
    """

    requires = ('features',)
    STARTS = ('random', 'first')
    BACKENDS = ('auto', 'torch', 'torch_cluster')

    def __init__(self, ratio: float = 0.06, start: str = 'random', backend: str = 'auto',
                 cpu_per_video: bool = True):
        super().__init__(ratio)
        check_choice(type(self).__name__, 'start', start, self.STARTS)
        check_choice(type(self).__name__, 'backend', backend, self.BACKENDS)
        if backend == 'torch_cluster' and torch_cluster is None:
            raise ValueError(f'{type(self).__name__}: `backend`=\'torch_cluster\' needs '
                             'torch_cluster (pip install torch-cluster)')
        if not isinstance(cpu_per_video, bool):
            raise ValueError(f'{type(self).__name__}: `cpu_per_video` must be a bool, '
                             f'got {cpu_per_video!r}')
        self.start = start
        self.backend = backend
        self.cpu_per_video = cpu_per_video

    def _first(self, num: int, generator) -> int:
        if self.start == 'random':
            return int(torch.randint(0, num, (1,), generator=generator))
        return 0

    def _uses_torch_cluster(self) -> bool:
        return self.backend != 'torch' and torch_cluster is not None

    def sample_batch(self, keys, num, *, coords=None, features=None, ious=None, scales=None,
                     plan=None):
        """``[B, k]`` sorted picks of every video (see the class docstring)."""
        if features is None:
            raise ValueError(f'{type(self).__name__} needs `features` to sample')
        if self._uses_torch_cluster():
            return super().sample_batch(keys, num, coords=coords, features=features)
        b, k = features.shape[0], self.num_samples(num)
        if features.shape[1] != num:
            raise ValueError(f'{type(self).__name__}: `features` has {features.shape[1]} '
                             f'rows per video but num={num}')
        if k == num:
            return torch.arange(num, device=features.device).expand(b, -1)
        first = torch.tensor([self._first(num, torch.Generator().manual_seed(int(key)))
                              for key in keys.tolist()])
        x = _full_precision(features.detach().reshape(b, num, -1))
        if x.device.type == 'cpu' and self.cpu_per_video:  # in cache: 3.5x faster
            picks = torch.stack([farthest_point_sampling(v, k, int(f))
                                 for v, f in zip(x, first)])
        else:
            picks = farthest_point_sampling_batch(x, k, first)
        return torch.sort(picks, dim=1).values

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        x = _full_precision(features.detach().reshape(num, -1))
        first = self._first(num, generator)
        if self._uses_torch_cluster():
            return self._sample_torch_cluster(x, k, first)
        return farthest_point_sampling(x, k, first)

    @staticmethod
    def _sample_torch_cluster(x, k, first):
        num = x.shape[0]
        perm = torch.arange(num, device=x.device)
        perm[0], perm[first] = first, 0
        with _no_autocast(x.device):
            picked = torch_cluster.fps(x[perm], None, ratio=min(1.0, (k + 0.5) / num),
                                       random_start=False)
        picked = perm[picked[:k]]
        if picked.numel() < k or picked.unique().numel() < k:  # defensive fallback
            return farthest_point_sampling(x, k, first)
        return picked
