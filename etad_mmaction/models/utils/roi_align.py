"""Temporal RoI alignment by linear interpolation and rescaling (G-TAD style, App. A.2)."""
import functools
from typing import Optional, Sequence

import torch
from torch import Tensor


def proposal_regions(proposals: Tensor, context_ratio: float = 0.5,
                     clamp_length: bool = True) -> Tensor:
    """Start, end and extended regions of proposals ``[..., 2]`` (App. A.2), stacked
    as ``[..., 3, 2]``.

    With ``d = t_e - t_s`` and ``r = context_ratio`` (the paper's "2/d", read as
    half the proposal length): start ``(t_s - r d, t_s)``, end ``(t_e, t_e + r d)``,
    extended ``(t_s - r d, t_e + r d)``. ``clamp_length``: ``d`` of an inverted
    proposal counts as 0 (the authors' code extends by the signed length).
    """
    ts, te = proposals[..., 0], proposals[..., 1]
    d = te - ts
    ctx = (d.clamp(min=0) if clamp_length else d) * context_ratio
    lo, hi = ts - ctx, te + ctx
    return torch.stack([lo, ts, te, hi, lo, hi], dim=-1).view(*proposals.shape[:-1], 3, 2)


@functools.lru_cache(maxsize=64)
def _sample_points(num_bins: tuple, samples_per_bin: int, device: torch.device, dtype):
    """Which region each sample point belongs to, and its fraction of the region:
    region ``r`` has ``num_bins[r] * samples_per_bin`` evenly spaced points at
    ``(k + 0.5) / P``. Built once per shape and device (no per-step launches)."""
    which, frac = [], []
    for r, bins in enumerate(num_bins):
        p = bins * samples_per_bin
        which += [r] * p
        frac += [(k + 0.5) / p for k in range(p)]
    return (torch.tensor(which, dtype=torch.long, device=device),
            torch.tensor(frac, dtype=dtype, device=device))


def _point_taps(pos: Tensor, num_snippets: int, samples_per_bin: int):
    """Linear-interpolation taps of points ``pos`` (snippet units): index and
    weight ``[..., 2]``, each point's weights divided by ``samples_per_bin``."""
    t = num_snippets
    u = pos - 0.5                                                          # index coordinate
    i0 = torch.floor(u)
    w1 = u - i0
    i0 = i0.long()
    i1 = i0 + 1
    w0 = (1.0 - w1) * ((i0 >= 0) & (i0 < t))
    w1 = w1 * ((i1 >= 0) & (i1 < t))
    index = torch.stack([i0, i1], dim=-1).clamp(0, t - 1)
    weight = torch.stack([w0, w1], dim=-1) / samples_per_bin
    return index, weight


def interpolation_taps(regions: Tensor, num_snippets: int, num_bins,
                       samples_per_bin: int = 2):
    """Linear-interpolation taps of the bins of each region.

    Snippet ``i`` covers ``[i, i + 1)``; its feature sits at ``i + 0.5``. Each bin
    averages ``samples_per_bin`` evenly spaced points, each point reads its two
    neighbouring snippets; points outside ``[-0.5, T - 0.5]`` read zeros (padding).
    The regions carry no gradient.

    ``regions [..., 2]`` with an int ``num_bins``: returns ``index`` (long) and
    ``weight``, both ``[..., num_bins, 2 * samples_per_bin]``: bin ``j`` of region
    ``n`` is ``sum_k weight[n, j, k] * x[index[n, j, k]]``.

    ``regions [..., R, 2]`` with a sequence of R bin counts: the taps of all R
    region kinds in one pass, returned as a list of R such ``(index, weight)``
    pairs (views of one buffer).
    """
    multi = not isinstance(num_bins, int)
    bins = tuple(num_bins) if multi else (num_bins, )
    regions = regions.detach() if multi else regions.detach().unsqueeze(-2)
    points = _sample_points.__wrapped__ if torch.compiler.is_compiling() else _sample_points
    which, frac = points(bins, samples_per_bin, regions.device, regions.dtype)
    ends = regions.index_select(-2, which)                                 # [..., P, 2]
    pos = torch.lerp(ends[..., 0], ends[..., 1], frac)
    index, weight = _point_taps(pos, num_snippets, samples_per_bin)       # [..., P, 2]
    lead = regions.shape[:-2]
    taps, lo = [], 0
    for b in bins:
        p = b * samples_per_bin
        shape = (*lead, b, 2 * samples_per_bin)
        taps.append((index[..., lo:lo + p, :].reshape(shape),
                     weight[..., lo:lo + p, :].reshape(shape)))
        lo += p
    return taps if multi else taps[0]


def interpolation_matrix(regions: Tensor, num_snippets: int, num_bins: int,
                         samples_per_bin: int = 2, dtype=None) -> Tensor:
    """Dense interpolation weights ``[B, N * num_bins, T]``: bin ``j`` of region
    ``n`` reads ``sum_t W[n * bins + j, t] x_t`` (see :func:`interpolation_taps`)."""
    b, n = regions.shape[:2]
    index, weight = interpolation_taps(regions, num_snippets, num_bins, samples_per_bin)
    dtype = dtype or regions.dtype
    mat = torch.zeros(b, n * num_bins, num_snippets, device=regions.device, dtype=dtype)
    return mat.scatter_add_(2, index.view(b, n * num_bins, -1),
                            weight.view(b, n * num_bins, -1).to(dtype))


def temporal_roi_align(feats: Tensor, regions: Tensor, num_bins: int,
                       samples_per_bin: int = 2) -> Tensor:
    """Sample ``num_bins`` features inside each region by linear interpolation.

    One batched matrix product of the interpolation weights with the features:
    no loop over proposals, and the backward pass is a matrix product too.

    Args:
        feats: ``[B, C, T]`` snippet features.
        regions: ``[B, N, 2]`` regions in snippet units.
    Returns:
        ``[B, N, num_bins * C]`` features, bin-major (``[bin0 channels, bin1 ...]``).
    """
    b, c, t = feats.shape
    n = regions.shape[1]
    mat = interpolation_matrix(regions, t, num_bins, samples_per_bin, dtype=feats.dtype)
    out = torch.bmm(mat, feats.transpose(1, 2))                            # [B, N*bins, C]
    return out.reshape(b, n, num_bins * c)


#: default bound of :func:`taps_linear`'s temporaries (values): CPU tiles that stay
#: in the last-level cache; on CUDA groups of videos (fewer, larger kernels)
TILE_ELEMENTS = dict(cpu=1 << 21, cuda=1 << 24)


def _largest_divisor(n: int, most: int) -> int:
    """The largest divisor of ``n`` that is at most ``most`` (at least 1)."""
    return next(d for d in range(max(1, min(n, most)), 0, -1) if n % d == 0)


def taps_linear(feats: Tensor, index: Tensor, tap_w: Tensor, weight: Tensor,
                max_chunk_elements: Optional[int] = None,
                matmul_dtype: Optional[torch.dtype] = None,
                counts: Optional[Sequence[int]] = None) -> Tensor:
    """RoI features of interpolation taps times a linear layer, per branch, without
    materialising the RoI features (exact, by linearity of the interpolation).

    Branch ``g`` of proposal ``n`` reads bins ``index[b, n, g]`` / ``tap_w[b, n, g]``
    (``[bins, taps]``, from :func:`interpolation_taps`) and multiplies their
    bin-major concatenation by ``weight[g]``. The product is first taken per
    snippet, branch and bin, ``Z[b, t, g, j] = x_t W_{g,j}`` (``W_{g,j}`` the rows
    of bin ``j`` of ``weight[g]``), then each proposal sums the ``Z`` rows of its
    taps. That costs ``B T G bins C O`` plus ``B N G bins taps O`` multiply-adds
    instead of ``B N G bins C O``, which is what makes the first FC layer of the
    proposal head cheap (Table 6: 128 x 32 inputs).

    ``Z`` is computed in tiles of videos x bins of at most ``max_chunk_elements``
    values (default :data:`TILE_ELEMENTS` of the device), each summed into the
    proposals and dropped; the backward pass works tile by tile too: ``dZ`` of a
    tile is a weighted sum over the proposals that read each of its rows (the
    transposed bags, sorted once in the forward pass), then ``dW += x^T dZ`` and
    ``dx += dZ W^T``. No buffer of the size of ``Z`` (400 MB for the extended branch
    at B = 16, T = 128) is allocated or zero-filled, forward or backward. Exact: the
    same sums in another order (float rounding). Under ``torch.compile``,
    :func:`taps_linear_bags` (the autograd formulation) is traced instead.

    ``matmul_dtype=torch.bfloat16`` (an inexact option, off by default) takes the
    three products of ``Z`` (forward, ``dW``, ``dx``) and the sums over taps in
    bfloat16 (float32 accumulation inside each product; across tiles the output and
    the features' gradient accumulate in the features' dtype, the weight's gradient in
    the weight's): about 2.5x faster products on CPUs with AVX512-BF16 and on tensor
    cores, at bf16's ~3 significant digits.
    Under bfloat16 autocast (``--amp``) it is on by itself; under float16 autocast
    and ``torch.compile``, :func:`taps_linear_bags` (autograd's formulation) runs.

    Args:
        feats: ``[B, C, T]``; index, tap_w: ``[B, N, G, bins, taps]``;
        weight: ``[G, bins * C, O]`` with bin-major rows.
        max_chunk_elements (int, optional): tile bound (values).
        matmul_dtype (torch.dtype, optional): ``None`` (exact) or ``torch.bfloat16``.
        counts (list of int, optional): packed proposals: ``index``/``tap_w`` are
            ``[1, M, ...]`` with ``counts[0]`` proposals of video 0, then
            ``counts[1]`` of video 1, ... (no padding); each video's proposals are
            summed from its own ``Z`` tiles (those of batch 1). Returns ``[1, M, G, O]``.
    Returns ``[B, N, G, O]``.
    """
    if matmul_dtype not in (None, torch.bfloat16):
        raise ValueError(f'taps_linear: matmul_dtype must be None or torch.bfloat16, '
                         f'got {matmul_dtype!r}')
    if max_chunk_elements is None:
        max_chunk_elements = TILE_ELEMENTS.get(feats.device.type, TILE_ELEMENTS['cuda'])
    if torch.is_autocast_enabled(feats.device.type) and not torch.compiler.is_compiling():
        if torch.get_autocast_dtype(feats.device.type) != torch.bfloat16:
            # float16 autocast: autograd's formulation (autocast casts its products)
            return _per_video(taps_linear_bags, feats, index, tap_w, weight, counts,
                              max_chunk_elements)
        matmul_dtype = torch.bfloat16      # bf16 autocast: the tiles' products in bf16
    if torch.compiler.is_compiling():      # traced graphs: autograd's formulation
        return _per_video(taps_linear_bags, feats, index, tap_w, weight, counts,
                          max_chunk_elements)
    b, c, t = feats.shape
    n, g, num_bins, k = index.shape[1:]
    out_dim = weight.shape[2]
    per_bin = t * g * out_dim                              # values of Z per video and bin
    bins = _largest_divisor(num_bins, max_chunk_elements // per_bin)
    videos = 1 if counts is not None else _largest_divisor(
        b, max_chunk_elements // (per_bin * bins))
    nj = num_bins // bins
    # [nj, C, G * bins * O]: the columns of W one tile of bins reads, (branch, bin, out)
    w_t = weight.view(g, nj, bins, c, out_dim).permute(1, 3, 0, 2, 4).reshape(nj, c, -1)
    if counts is not None:             # video by video, one W layout for all of them
        return _per_video(lambda f, i, w, *_: _tiles(f, i, w, w_t, 1, bins, matmul_dtype),
                          feats, index, tap_w, weight, counts, max_chunk_elements)
    return _tiles(feats, index, tap_w, w_t, videos, bins, matmul_dtype)


def _per_video(fn, feats, index, tap_w, weight, counts, max_chunk_elements):
    """``fn`` on each video's packed proposals (see :func:`taps_linear`'s ``counts``)."""
    if counts is None:
        return fn(feats, index, tap_w, weight, max_chunk_elements)
    parts, lo = [], 0
    for v, cnt in enumerate(counts):
        if cnt:
            parts.append(fn(feats[v:v + 1], index[:, lo:lo + cnt], tap_w[:, lo:lo + cnt],
                            weight, max_chunk_elements))
        lo += cnt
    return torch.cat(parts, dim=1)


def _tiles(feats: Tensor, index: Tensor, tap_w: Tensor, w_t: Tensor, videos: int, bins: int,
           matmul_dtype: Optional[torch.dtype]) -> Tensor:
    """:func:`taps_linear`'s tiles of ``videos`` videos x ``bins`` bins; ``w_t``: the
    weight as ``[nj, C, G * bins * O]``."""
    b, c, t = feats.shape
    n, g, num_bins, k = index.shape[1:]
    out_dim = w_t.shape[2] // (g * bins)
    nv, nj = b // videos, num_bins // bins
    # Z rows of a tile: ((video_in_tile * T + t) * G + branch) * bins_in_tile + bin_in_tile
    video = (torch.arange(b, device=feats.device) % videos).view(b, 1, 1, 1, 1)
    branch = torch.arange(g, device=feats.device).view(1, 1, g, 1, 1)
    jbin = (torch.arange(num_bins, device=feats.device) % bins).view(1, 1, 1, num_bins, 1)
    rows = ((video * t + index) * g + branch) * bins + jbin
    # tile-major order [nv, nj, videos, N, G, bins, taps]: each tile's bags contiguous
    tile_major = (nv, videos, n, g, nj, bins, k)
    rows = rows.view(tile_major).permute(0, 4, 1, 2, 3, 5, 6).reshape(nv * nj, -1)
    tap_w = tap_w.to(feats.dtype).reshape(tile_major).permute(0, 4, 1, 2, 3, 5, 6)
    tap_w = tap_w.reshape(nv * nj, -1)
    xt = feats.transpose(1, 2).reshape(nv, videos * t, c)
    out = _TiledTapsLinear.apply(xt, w_t, rows, tap_w, (videos * n * g, bins * k, out_dim),
                                 matmul_dtype)
    # [nv, videos * N * G, O] -> [B, N, G, O]
    return out.view(b, n, g, out_dim)


class _TiledTapsLinear(torch.autograd.Function):
    """:func:`taps_linear`'s tiles: ``xt [nv, V*T, C]``, ``w_t [nj, C, G*J*O]``,
    ``rows``/``tap_w [nv*nj, V*N*G*J*taps]`` -> ``[nv, V*N*G, O]``; with a
    ``matmul_dtype`` the products and tap sums run in it, the accumulators in
    ``xt``'s dtype."""

    @staticmethod
    def forward(ctx, xt, w_t, rows, tap_w, dims, matmul_dtype=None):
        bags, per_bag, out_dim = dims
        nv, nj = xt.shape[0], w_t.shape[0]
        out = xt.new_empty(nv, bags, out_dim)
        xc, wc, twc = xt, w_t, tap_w
        if matmul_dtype is not None:
            xc, wc, twc = xt.to(matmul_dtype), w_t.to(matmul_dtype), tap_w.to(matmul_dtype)
        for v in range(nv):
            for j in range(nj):
                z = (xc[v] @ wc[j]).view(-1, out_dim)
                part = torch.nn.functional.embedding_bag(
                    rows[v * nj + j].view(bags, per_bag), z,
                    per_sample_weights=twc[v * nj + j].view(bags, per_bag), mode='sum')
                if j == 0:
                    out[v] = part
                else:
                    out[v] += part
        if any(ctx.needs_input_grad[:2]):
            # the transposed bags: each Z row's (proposal bag, weight) entries, sorted
            # by row once for all tiles (searchsorted: no host synchronisation)
            z_rows = xt.shape[1] * w_t.shape[2] // out_dim
            key = rows + torch.arange(nv * nj, device=rows.device).view(-1, 1) * z_rows
            key, order = torch.sort(key.view(-1), stable=True)
            order = order.view(nv * nj, -1)
            bag_of = (order % rows.shape[1]) // per_bag
            starts = torch.arange(nv * nj * z_rows + 1, device=rows.device)
            offsets = torch.searchsorted(key, starts)
            weights = twc.reshape(-1)[order.view(-1)].view(nv * nj, -1)
            ctx.save_for_backward(xc, wc, bag_of, weights, offsets)
        ctx.dims = (nv, nj, out_dim, xt.dtype, w_t.dtype)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        xt, w_t, bag_of, weights, offsets = ctx.saved_tensors   # in the products' dtype
        nv, nj, out_dim, x_dtype, w_dtype = ctx.dims
        mixed = xt.dtype != x_dtype or w_t.dtype != w_dtype
        z_rows = xt.shape[1] * w_t.shape[2] // out_dim
        grad_out = grad_out.to(xt.dtype).contiguous()
        gx = xt.new_zeros(xt.shape, dtype=x_dtype) if ctx.needs_input_grad[0] else None
        gw = w_t.new_zeros(w_t.shape, dtype=w_dtype) if ctx.needs_input_grad[1] else None
        for v in range(nv):
            for j in range(nj):
                tile = v * nj + j
                off = offsets[tile * z_rows:(tile + 1) * z_rows + 1]
                dz = torch.nn.functional.embedding_bag(
                    bag_of[tile], grad_out[v], off - off[0], per_sample_weights=weights[tile],
                    mode='sum', include_last_offset=True).view(xt.shape[1], -1)
                if gw is not None:
                    if mixed:
                        gw[j] += xt[v].t() @ dz
                    else:
                        gw[j].addmm_(xt[v].t(), dz)
                if gx is not None:
                    if mixed:
                        gx[v] += dz @ w_t[j].t()
                    else:
                        gx[v].addmm_(dz, w_t[j].t())
        return gx, gw, None, None, None, None


def taps_linear_bags(feats: Tensor, index: Tensor, tap_w: Tensor, weight: Tensor,
                     max_chunk_elements: Optional[int] = None) -> Tensor:
    """RoI features of interpolation taps times a linear layer, per branch, without
    materialising the RoI features (exact, by linearity of the interpolation): one
    ``embedding_bag`` per group of videos, differentiated by autograd. This is the
    path :func:`taps_linear` takes under ``torch.compile``.

    Branch ``g`` of proposal ``n`` reads bins ``index[b, n, g]`` / ``tap_w[b, n, g]``
    (``[bins, taps]``, from :func:`interpolation_taps`) and multiplies their
    bin-major concatenation by ``weight[g]``. The product is first taken per
    snippet, branch and bin, ``Z[b, t, g, j] = x_t W_{g,j}`` (``W_{g,j}`` the rows
    of bin ``j`` of ``weight[g]``), then each proposal sums the ``Z`` rows of its
    taps (one ``embedding_bag`` for all branches). That costs ``B T G bins C O``
    plus ``B N G bins taps O`` instead of ``B N G bins C O`` multiply-adds, which
    is what makes the first FC layer of the proposal head cheap (Table 6:
    128 x 32 inputs).

    ``Z`` (``B T G bins O`` values, 400 MB for the extended branch at B = 16,
    T = 128) is not kept for the backward pass, but it is the step's largest
    temporary, and so is its gradient: videos are processed in groups whose ``Z``
    holds at most ``max_chunk_elements`` values (exact: a proposal only reads
    its own video's rows; at least one video per group).

    Args:
        feats: ``[B, C, T]``; index, tap_w: ``[B, N, G, bins, taps]``;
        weight: ``[G, bins * C, O]`` with bin-major rows.
    Returns ``[B, N, G, O]``.
    """
    b, c, t = feats.shape
    n, g, num_bins = index.shape[1:4]
    out_dim = weight.shape[2]
    max_chunk_elements = max_chunk_elements or TILE_ELEMENTS['cuda']
    group = max(1, min(b, max_chunk_elements // max(1, t * g * num_bins * out_dim)))
    rows = _tap_rows.__wrapped__ if torch.compiler.is_compiling() else _tap_rows  # traced: no cache
    row = rows(b, group, t, g, num_bins, feats.device)                    # [B, 1, G, bins, 1]
    # rows within a group's Z, one bag of taps per (proposal, branch)
    flat = (index * (g * num_bins) + row).view(b * n * g, -1)
    tap_w = tap_w.reshape(b * n * g, -1).to(feats.dtype)
    # [C, G * bins * O], columns ordered (branch, bin, output)
    w_r = weight.view(g, num_bins, c, out_dim).permute(2, 0, 1, 3).reshape(c, -1)
    xt = feats.transpose(1, 2).reshape(b * t, c)
    # split (views; one concatenation in the backward pass), not per-group slicing
    outs = []
    for x, bags, w in zip(xt.split(group * t), flat.split(group * n * g),
                          tap_w.split(group * n * g)):
        # Z[(video_in_group * T + t) * G * bins + g * bins + j, :] = x[video, :, t] @ W_{g,j}
        z = (x @ w_r).view(-1, out_dim)          # autocast: Z in its dtype, so the weights
        outs.append(torch.nn.functional.embedding_bag(
            bags, z, per_sample_weights=w.to(z.dtype), mode='sum'))
    out = outs[0] if len(outs) == 1 else torch.cat(outs)
    return out.view(b, n, g, out_dim)


@functools.lru_cache(maxsize=64)
def _tap_rows(b: int, group: int, t: int, g: int, num_bins: int, device: torch.device):
    """Row offsets of ``Z`` in :func:`taps_linear` without the snippet index:
    ``(video_in_group * T * G + branch) * bins + bin`` -> ``[B, 1, G, bins, 1]``
    (built once per shape and device)."""
    video = (torch.arange(b, device=device) % group).view(b, 1, 1, 1, 1)
    branch = torch.arange(g, device=device).view(1, 1, g, 1, 1)
    bins = torch.arange(num_bins, device=device).view(1, 1, 1, num_bins, 1)
    return (video * t * g + branch) * num_bins + bins
