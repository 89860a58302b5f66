"""Exact k-DPP sampling (Sec. 3.3, feature-guided; App. H).

Likelihood kernel ``L = Fn Fn^T + eps I`` with ``Fn`` the L2-normalised features
(cosine similarity), sampled exactly with the two-phase algorithm of Kulesza &
Taskar (2011) at the size of the ETAD proposal map (n = 8,256, k = 495):

1. eigen-decomposition through the dual ``c x c`` problem: ``L`` has eigenvalues
   ``s_j^2 + eps`` on ``range(Fn)`` and ``eps`` on its ``(n - r)``-dim orthogonal
   complement ``E``. k eigen-indices are chosen with elementary symmetric
   polynomials in log space; the degenerate ``eps`` block enters as the
   polynomial ``(1 + eps x)^(n - r)`` (choose ``m`` of its ``n - r`` equal
   eigenvalues with weight ``C(n - r, m) eps^m``).
2. the projection DPP on the chosen eigenvectors plus an orthonormal basis of a
   Haar-random ``m``-dim subspace of ``E`` (drawn from the generator: any basis
   of a degenerate eigenspace gives the same k-DPP), sampled item by item with
   exact conditional probabilities (squared distance of the item's row to the
   span of the chosen rows). The conditionals are only decreasing, so stale
   values refreshed in blocks (BLAS-3) serve as exact rejection-sampling bounds:
   O(n k^2) flops in matrix products instead of k sequential passes over n x k.
"""
import math
from typing import Optional, Tuple

import numpy as np
import torch
from mmaction.registry import TASK_UTILS
from scipy.special import gammaln
from torch import Tensor

from .base_sampler import BaseSampler


def cosine_kernel_features(features: Tensor, normalize: bool = True) -> np.ndarray:
    """``[n, c]`` float64 features ``Fn`` of ``L = Fn Fn^T + eps I``: rows
    L2-normalised (cosine similarity, App. H) unless ``normalize=False``."""
    x = features.detach().to('cpu', torch.float64).reshape(features.shape[0], -1).numpy()
    if not np.isfinite(x).all():
        raise ValueError('DPP sampler: `features` contain NaN or inf')
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(x)


class LowRankEigen:
    """Eigenpairs of ``x x^T`` (``x`` ``[n, c]``) with ``lam > rtol * max``,
    through the smaller of the primal ``n x n`` and dual ``c x c`` Gram matrices.

    In the dual case eigenvectors are formed only on demand,
    ``U_J = x V_J lam_J^-1/2``, orthonormalised by a Cholesky factor computed in
    ``c``-space, so the cost in ``n`` is a single ``n x c x |J|`` product.
    """

    def __init__(self, x: np.ndarray, rtol: float = 1e-10):
        n, c = x.shape
        self.x, self.primal = x, n <= c
        self.gram = x @ x.T if self.primal else x.T @ x
        lam, vec = np.linalg.eigh(self.gram)
        keep = lam > rtol * max(float(lam.max(initial=0.0)), 1e-300)
        self.lam, self.vec = lam[keep], vec[:, keep]

    def vectors(self, index: np.ndarray) -> np.ndarray:
        """``[n, |index|]`` orthonormal eigenvectors of ``x x^T``."""
        if self.primal:
            return self.vec[:, index]
        t = self.vec[:, index] / np.sqrt(self.lam[index])
        try:
            chol = np.linalg.cholesky(t.T @ self.gram @ t)  # = U_J^T U_J ~ I
            t = t @ np.linalg.inv(chol).T
        except np.linalg.LinAlgError:  # pragma: no cover - defensive
            return orthonormalize(self.x @ t)
        return self.x @ t


def orthonormalize(z: np.ndarray, passes: int = 2) -> np.ndarray:
    """Orthonormal basis of the columns of a tall full-rank ``z`` (Cholesky QR,
    ``passes`` times; Householder QR if Cholesky fails). One pass is enough
    (to ~1e-15) for a well-conditioned ``z`` such as a tall Gaussian matrix."""
    if z.shape[1] == 0:
        return z
    for _ in range(passes):
        try:  # z = Q L^T  ->  Q = z L^-T (the factor is well conditioned here)
            chol = np.linalg.cholesky(z.T @ z)
        except np.linalg.LinAlgError:
            return np.linalg.qr(z)[0]
        z = z @ np.linalg.inv(chol).T
    return z


def _log_esp_table(log_mu: np.ndarray, k: int) -> np.ndarray:
    """``table[j, l] = log e_l(mu_1, ..., mu_j)`` for ``j <= r``, ``l <= k``."""
    r = log_mu.shape[0]
    table = np.full((r + 1, k + 1), -np.inf)
    table[:, 0] = 0.0
    for j in range(1, r + 1):
        table[j, 1:] = np.logaddexp(table[j - 1, 1:], log_mu[j - 1] + table[j - 1, :-1])
    return table


def _log_binom(n: int, m: np.ndarray) -> np.ndarray:
    return gammaln(n + 1.0) - gammaln(m + 1.0) - gammaln(n - m + 1.0)


class _Uniforms:
    """Uniform(0, 1) float64 numbers from a torch generator, drawn in batches."""

    def __init__(self, generator: torch.Generator, batch: int = 256):
        self.generator, self.batch = generator, batch
        self.buffer, self.pos = np.empty(0), 0

    def __call__(self) -> float:
        if self.pos >= self.buffer.shape[0]:
            self.buffer = torch.rand(self.batch, generator=self.generator,
                                     dtype=torch.float64).numpy()
            self.pos = 0
        self.pos += 1
        return float(self.buffer[self.pos - 1])


def sample_k_eigen_indices(lam: np.ndarray, eps: float, num_degenerate: int, k: int,
                           uniform: _Uniforms) -> Tuple[np.ndarray, int]:
    """Phase 1: chosen indices into ``lam`` and the number ``m`` of eigenvalues
    taken from the ``eps`` block of size ``num_degenerate`` (eigenvalues of L are
    ``lam + eps`` and ``eps`` repeated)."""
    r = lam.shape[0]
    log_mu = np.log(lam + eps)
    table = _log_esp_table(log_mu, min(k, r))
    m = np.arange(max(0, k - r), min(k, num_degenerate) + 1)
    if m.size == 0:
        raise ValueError(f'k-DPP: k={k} exceeds the rank {r + num_degenerate} of L')
    log_w = _log_binom(num_degenerate, m) + m * math.log(eps) + table[r, k - m]
    prob = np.exp(log_w - log_w.max())
    cdf = np.cumsum(prob / prob.sum())
    m_pick = int(m[min(int(np.searchsorted(cdf, uniform(), side='right')), m.size - 1)])
    chosen, left = [], k - m_pick
    for j in range(r, 0, -1):
        if left == 0:
            break
        if left >= j:
            chosen.extend(range(j - 1, -1, -1))
            break
        p = math.exp(log_mu[j - 1] + table[j - 1, left - 1] - table[j, left])
        if uniform() < p:
            chosen.append(j - 1)
            left -= 1
    return np.asarray(sorted(chosen), dtype=np.int64), m_pick


def sample_projection_dpp(basis: np.ndarray, uniform: _Uniforms) -> np.ndarray:
    """Phase 2: a sample of the projection DPP ``K = B B^T`` (``B`` ``[n, k]``
    with orthonormal columns): always exactly ``k`` items.

    Item ``i`` is picked next with probability ``||b_i - P b_i||^2 / (k - t)``
    (``P`` projects onto the span of the ``t`` rows already picked), by rejection
    from stale upper bounds of these norms refreshed by matrix products whenever
    their sum exceeds twice the exact total ``k - t``.
    """
    n, k = basis.shape
    rows = np.zeros((k, k))  # orthonormal basis of the picked rows (as rows)
    stale = np.einsum('ij,ij->i', basis, basis)
    cdf = np.cumsum(stale)
    picked = np.zeros(n, dtype=bool)
    out = np.empty(k, dtype=np.int64)
    t = t_ref = 0
    while t < k:
        total = cdf[-1]
        if t > t_ref and total > 2.0 * (k - t):
            proj = basis @ rows[t_ref:t].T
            stale -= np.einsum('ij,ij->i', proj, proj)
            np.maximum(stale, 0.0, out=stale)
            stale[picked] = 0.0
            cdf = np.cumsum(stale)
            t_ref = t
            continue
        i = min(int(np.searchsorted(cdf, uniform() * total, side='right')), n - 1)
        if picked[i] or stale[i] <= 0.0:
            uniform()  # keep the number of draws per proposal constant
            continue
        q = rows[:t]
        w = basis[i] - (q @ basis[i]) @ q
        cond = float(w @ w)
        if uniform() * stale[i] >= cond:
            continue
        w -= (q @ w) @ q  # re-orthogonalise
        rows[t] = w / np.linalg.norm(w)
        picked[i] = True
        out[t] = i
        t += 1
    return out


def sample_k_dpp_low_rank(x: np.ndarray, k: int, eps: float,
                          generator: Optional[torch.Generator] = None) -> Tensor:
    """Exact sample of the k-DPP with ``L = x x^T + eps I`` (``x`` ``[n, c]``
    float64); see the module docstring. Returns unsorted indices ``[k]``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    generator = BaseSampler.cpu_generator(generator)
    uniform = _Uniforms(generator)
    eig = LowRankEigen(x)
    r = eig.lam.shape[0]
    chosen, m = sample_k_eigen_indices(eig.lam, eps, n - r, k, uniform)
    basis = np.empty((n, k))
    if m == 0:
        basis[:] = eig.vectors(chosen)
    else:  # + orthonormal basis of a Haar-random m-dim subspace of range(x)^perp
        u = eig.vectors(np.arange(r))
        basis[:, :k - m] = u[:, chosen]
        z = torch.randn(n, m, generator=generator, dtype=torch.float64).numpy()
        z -= u @ (u.T @ z)
        basis[:, k - m:] = orthonormalize(z, passes=1 if n >= 4 * m else 2)
    return torch.from_numpy(sample_projection_dpp(basis, uniform))


@TASK_UTILS.register_module()
class DPPSampler(BaseSampler):
    """Exact k-DPP over ``features`` ``[n, c]`` (Sec. 3.3, App. H).

    Args:
        ratio (float): fraction kept (k fixed: a k-DPP).
        eps (float): ridge of the likelihood kernel ``L = Fn Fn^T + eps I``
            (App. H: 1e-2), which makes ``rank(L) = n >= k``.
        normalize (bool): L2-normalise the features (cosine kernel, default) or
            use their raw inner products (Alg. 2).
    """

    requires = ('features',)

    def __init__(self, ratio: float = 0.06, eps: float = 1e-2, normalize: bool = True):
        super().__init__(ratio)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) \
                or not (math.isfinite(eps) and eps > 0):
            raise ValueError(f'{type(self).__name__}: `eps` must be > 0, got {eps!r}')
        self.eps = float(eps)
        self.normalize = bool(normalize)

    def _sample(self, num, k, *, coords, features, ious, scales, generator):
        x = cosine_kernel_features(features, self.normalize)
        return sample_k_dpp_low_rank(x, k, self.eps, generator)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio}, eps={self.eps})'
