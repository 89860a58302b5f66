"""Greedy MAP inference of the DPP (Sec. 3.3, App. H; fast greedy of Chen et al.,
2018): a deterministic, non-exact alternative to :class:`DPPSampler`."""
import numpy as np
import torch
from mmaction.registry import TASK_UTILS

from .dpp_sampler import DPPSampler, cosine_kernel_features


def greedy_dpp_map(x: np.ndarray, k: int, eps: float) -> np.ndarray:
    """``k`` indices, in pick order, of the greedy maximiser of
    ``log det(L_S)`` for ``L = x x^T + eps I``.

    The gain of item ``i`` given ``S`` is ``log(eps * (1 + s_i))`` with
    ``s_i = x_i^T (eps I + x_S^T x_S)^-1 x_i``: each pick costs one ``n x c``
    matrix-vector product through a Sherman-Morrison update in feature space
    (the dual of Chen et al.'s Cholesky update: O(n c) per pick instead of
    O(n (c + |S|))). Ties go to the lowest index (up to rounding).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n, c = x.shape
    inv = np.eye(c) / eps                          # (eps I + x_S^T x_S)^-1
    score = np.einsum('ij,ij->i', x, x) / eps      # s_i
    avail = score.copy()                           # s_i, -inf once picked
    out = np.empty(k, dtype=np.int64)
    for t in range(k):
        j = int(np.argmax(avail))
        out[t], avail[j] = j, -np.inf
        if t == k - 1:
            break
        v = inv @ x[j]
        denom = 1.0 + score[j]
        proj = x @ v
        proj *= proj
        proj /= denom
        score -= proj
        avail -= proj
        inv -= np.outer(v, v) / denom
    return out


@TASK_UTILS.register_module()
class GreedyDPPSampler(DPPSampler):
    """Deterministic greedy MAP of the DPP with the kernel of :class:`DPPSampler`
    (``L = Fn Fn^T + eps I``); ignores the generator. Not a k-DPP sample: it
    returns one high-diversity subset, the same for the same features."""

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        x = cosine_kernel_features(features, self.normalize)
        return torch.from_numpy(greedy_dpp_map(x, k, self.eps))
