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
                counts: Optional[Sequence[int]] = None,
                bias: Optional[Tensor] = None, relu: bool = False) -> Tensor:
    """RoI features of interpolation taps times the first linear layer of the FC
    branches reading them, without materialising the RoI features (exact, by
    linearity of the interpolation).

    Tap group ``g`` of proposal ``n`` reads bins ``index[b, n, g]`` / ``tap_w[b, n, g]``
    (``[bins, taps]``, from :func:`interpolation_taps`); ``S = weight.shape[0] / G``
    branches read each group (the proposal head's start and end regions: G = 2,
    S = 1; its extended region: G = 1, S = 3), branch ``(g, s)`` multiplying the
    bin-major concatenation by ``weight[g * S + s]``. The product is first taken per
    snippet, bin and branch, ``Z[b, t, g, j] = x_t W_{g,j}`` (``W_{g,j}`` the rows of
    bin ``j`` of the group's S weights), then each proposal sums the ``Z`` rows of
    its taps. That costs ``B T G bins C S O`` plus ``B N G bins taps S O``
    multiply-adds instead of ``B N G bins C S O``, which is what makes the first FC
    layer of the proposal head cheap (Table 6: 128 x 32 inputs).

    ``Z`` is computed in tiles of videos x bins of at most ``max_chunk_elements``
    values (default :data:`TILE_ELEMENTS` of the device), each summed into the
    proposals and dropped; the backward pass works tile by tile too: ``dZ`` of a
    tile is a weighted sum over the proposals that read each of its rows (the
    transposed bags, sorted once in the forward pass), then ``dW += x^T dZ`` and
    ``dx += dZ W^T``. No buffer of the size of ``Z`` (400 MB for the extended branches
    at B = 16, T = 128) is allocated or zero-filled, forward or backward, and the
    output is written in the layout the FC stacks read (branch-major, bias added,
    optionally activated in place), so the only tensors kept for the backward pass
    are the features, the taps' transposed bags, the weight itself and (with
    ``relu``) the output, which the next layer keeps anyway. Exact: the same sums in another order
    (float rounding). Under ``torch.compile``, :func:`taps_linear_bags` (the
    autograd formulation) is traced instead.

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
        weight: ``[G * S, bins * C, O]`` with bin-major rows (a :class:`ParallelMLP`'s
            first weight).
        max_chunk_elements (int, optional): tile bound (values).
        matmul_dtype (torch.dtype, optional): ``None`` (exact) or ``torch.bfloat16``.
        counts (list of int, optional): packed proposals: ``index``/``tap_w`` are
            ``[1, M, ...]`` with ``counts[0]`` proposals of video 0, then
            ``counts[1]`` of video 1, ... (no padding); each video's proposals are
            summed from its own ``Z`` tiles (those of batch 1).
        bias (Tensor, optional): ``[G * S, 1, O]``, added to the output.
        relu (bool): apply a ReLU to the output (its mask is applied to the output
            gradient group by group: no extra full-size gradient).
    Returns ``[G * S, B * N, O]`` (packed: ``[G * S, M, O]``), branch-major.
    """
    if matmul_dtype not in (None, torch.bfloat16):
        raise ValueError(f'taps_linear: matmul_dtype must be None or torch.bfloat16, '
                         f'got {matmul_dtype!r}')
    b, c, t = feats.shape
    rows_in, n, g, num_bins, k = index.shape
    branches, out_dim = weight.shape[0], weight.shape[2]
    if branches % g or weight.shape[1] != num_bins * c:
        raise ValueError(f'taps_linear: weight {tuple(weight.shape)} does not fit {g} tap '
                         f'groups of {num_bins} bins x {c} channels')
    if counts is not None and (rows_in != 1 or sum(counts) != n or len(counts) != b):
        raise ValueError(f'taps_linear: packed taps {tuple(index.shape[:2])} do not hold '
                         f'counts {list(counts)} of {b} videos')
    if max_chunk_elements is None:
        max_chunk_elements = TILE_ELEMENTS.get(feats.device.type, TILE_ELEMENTS['cuda'])
    autocast = torch.is_autocast_enabled(feats.device.type)
    if torch.compiler.is_compiling() or (
            autocast and torch.get_autocast_dtype(feats.device.type) != torch.bfloat16):
        # traced graphs and float16 autocast: autograd's formulation
        out = _bags_branch_major(feats, index, tap_w, weight, bias, counts,
                                 max_chunk_elements)
        return torch.relu(out) if relu else out
    if autocast:
        matmul_dtype = torch.bfloat16      # bf16 autocast: the tiles' products in bf16
    s = branches // g
    per_bin = t * g * s * out_dim                          # values of Z per video and bin
    bins = _largest_divisor(num_bins, max_chunk_elements // per_bin)
    videos = 1 if counts is not None else _largest_divisor(
        b, max_chunk_elements // (per_bin * bins))
    groups = list(counts) if counts is not None else [videos * n] * (b // videos)
    nj = num_bins // bins
    # Z rows of a tile: ((video_in_tile * T + t) * G + group) * bins + bin_in_tile;
    # int32 indices (half the memory of the bookkeeping) whenever they fit
    idx = torch.int32 if b * t * g * num_bins * k < 2**31 and rows_in * n * g * num_bins * k \
        < 2**31 else torch.int64
    dev = feats.device
    video = (torch.arange(rows_in, device=dev, dtype=idx) % videos).view(rows_in, 1, 1, 1, 1)
    group = torch.arange(g, device=dev, dtype=idx).view(1, 1, g, 1, 1)
    jbin = (torch.arange(num_bins, device=dev, dtype=idx) % bins).view(1, 1, 1, num_bins, 1)
    rows = ((video * t + index.to(idx)) * g + group) * bins + jbin
    # bin-tile-major [nj, M * G * bins * taps]: a tile's bags are a contiguous range
    tile_major = (rows_in * n, g, nj, bins, k)
    rows = rows.view(tile_major).permute(2, 0, 1, 3, 4).reshape(nj, -1)
    tap_w = tap_w.to(feats.dtype).reshape(tile_major).permute(2, 0, 1, 3, 4).reshape(nj, -1)
    xt = feats.transpose(1, 2).reshape(len(groups), videos * t, c)
    return _TiledTapsLinear.apply(xt, weight, bias, rows, tap_w,
                                  (tuple(groups), g, s, bins, k, relu), matmul_dtype,
                                  torch.is_grad_enabled())


def _bags_branch_major(feats, index, tap_w, weight, bias, counts, max_chunk_elements):
    """:func:`taps_linear` through :func:`taps_linear_bags` (autograd), per video
    for packed proposals, in :func:`taps_linear`'s layout."""
    g, num_bins, c = index.shape[2], index.shape[3], feats.shape[1]
    s, out_dim = weight.shape[0] // g, weight.shape[2]
    wide = weight.reshape(g, s, num_bins * c, out_dim).transpose(1, 2).reshape(
        g, num_bins * c, s * out_dim)                  # the S branches side by side
    if counts is None:
        out = taps_linear_bags(feats, index, tap_w, wide, max_chunk_elements)
    else:
        parts, lo = [], 0
        for v, cnt in enumerate(counts):
            if cnt:
                parts.append(taps_linear_bags(feats[v:v + 1], index[:, lo:lo + cnt],
                                              tap_w[:, lo:lo + cnt], wide,
                                              max_chunk_elements))
            lo += cnt
        out = torch.cat(parts, dim=1)
    out = out.reshape(-1, g * s, out_dim).transpose(0, 1)
    return out if bias is None else out + bias


def _tile_weight(weight: Tensor, g: int, nj: int, bins: int, dtype) -> Tensor:
    """``weight [G * S, nj * bins * C, O]`` -> ``[nj, C, G * bins * S * O]`` in
    ``dtype``: the columns tile ``j`` of bins multiplies (group, bin, branch, output)."""
    branches, rows, out_dim = weight.shape
    s, c = branches // g, rows // (nj * bins)
    w = weight.reshape(g, s, nj, bins, c, out_dim).permute(2, 4, 0, 3, 1, 5)
    return w.to(dtype).reshape(nj, c, -1)


def _untile_weight(w_t: Tensor, g: int, bins: int, shape) -> Tensor:
    """Inverse of :func:`_tile_weight` (the same permutation: it is an involution)."""
    nj, c = w_t.shape[:2]
    branches, out_dim = shape[0], shape[2]
    return w_t.view(nj, c, g, bins, branches // g, out_dim).permute(
        2, 4, 0, 3, 1, 5).reshape(shape)


class _TiledTapsLinear(torch.autograd.Function):
    """:func:`taps_linear`'s tiles: ``xt [nv, V*T, C]`` (one tile row per group of
    videos), ``weight [G*S, bins*C, O]``, ``bias``, ``rows``/``tap_w``
    ``[nj, M*G*bins*taps]`` (bin-tile-major) -> ``[G*S, M, O]``. ``meta``: the
    proposals of each video group, ``G``, ``S``, bins per tile, taps per bin and
    whether a ReLU follows. ``grad_mode``: the caller's (inside ``forward`` it is
    off, and ``needs_input_grad`` ignores it), so that inference builds no
    backward bookkeeping.
    With a ``matmul_dtype`` the products and tap sums run in it, the accumulators
    in ``xt``'s dtype (the weight's gradient in the weight's)."""

    @staticmethod
    def forward(ctx, xt, weight, bias, rows, tap_w, meta, matmul_dtype=None, grad_mode=True):
        groups, g, s, bins, k, relu = meta
        nj, out_dim, per_bag = rows.shape[0], weight.shape[2], bins * k
        m = sum(groups)
        out = xt.new_empty(g * s, m, out_dim)
        dtype = matmul_dtype or xt.dtype
        xc, twc = xt.to(dtype), tap_w.to(dtype)
        w_t = _tile_weight(weight, g, nj, bins, dtype)
        bias_rows = None if bias is None else bias.reshape(g * s, out_dim).to(out.dtype)
        r0 = 0
        for v, rows_v in enumerate(groups):
            if not rows_v:
                continue
            e0, e1 = r0 * g * per_bag, (r0 + rows_v) * g * per_bag
            acc = None             # the group's bags [rows_v * G, S * O], summed over tiles
            for j in range(nj):
                z = (xc[v] @ w_t[j]).view(-1, s * out_dim)
                part = torch.nn.functional.embedding_bag(
                    rows[j, e0:e1].view(-1, per_bag), z,
                    per_sample_weights=twc[j, e0:e1].view(-1, per_bag), mode='sum')
                acc = part.to(out.dtype) if acc is None else acc.add_(part)
            acc = acc.view(rows_v, g * s, out_dim)
            if bias_rows is not None:
                acc += bias_rows
            dst = out[:, r0:r0 + rows_v]                           # branch-major [G*S, M, O]
            if relu:
                torch.clamp_min(acc.transpose(0, 1), 0, out=dst)
            else:
                dst.copy_(acc.transpose(0, 1))
            r0 += rows_v
        if grad_mode and any(ctx.needs_input_grad[:2]):
            # the transposed bags: each Z row's (bag, weight) entries, sorted by
            # (video group, bin tile, Z row) once for all tiles (no host sync)
            z_rows = xt.shape[1] * g * bins
            dev, idx = rows.device, rows.dtype
            if len(set(groups)) == 1:      # equal groups (training): arithmetic only
                group_of = torch.arange(m, device=dev, dtype=idx) // groups[0]
                first_bag = torch.arange(len(groups), device=dev, dtype=idx) * (groups[0] * g)
            else:
                sizes = torch.tensor(groups, device=dev, dtype=idx)
                group_of = torch.repeat_interleave(
                    torch.arange(len(groups), device=dev, dtype=idx), sizes, output_size=m)
                first_bag = (torch.cumsum(sizes, 0, dtype=idx) - sizes) * g
            entry_group = group_of.repeat_interleave(g * per_bag)         # [E]
            tile = entry_group.view(1, -1) * nj + torch.arange(nj, device=dev,
                                                               dtype=idx).view(-1, 1)
            key, order = torch.sort((tile * z_rows + rows).view(-1), stable=True)
            del tile
            offsets = torch.searchsorted(
                key, torch.arange(len(groups) * nj * z_rows + 1, device=dev, dtype=idx),
                out_int32=idx == torch.int32)
            del key
            weights = twc.reshape(-1)[order]
            entry = order.to(idx) % rows.shape[1]
            del order
            bag_of = entry // per_bag - first_bag[entry_group[entry]]      # within its group
            del entry
            ctx.save_for_backward(xc, weight, bag_of, weights, offsets, out if relu else None)
        elif grad_mode and ctx.needs_input_grad[2]:   # the bias alone
            ctx.save_for_backward(None, None, None, None, None, out if relu else None)
        ctx.meta = (groups, g, s, bins, per_bag, nj, xt.dtype, bias is not None, relu)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        xc, weight, bag_of, weights, offsets, out = ctx.saved_tensors   # products' dtype
        groups, g, s, bins, per_bag, nj, x_dtype, has_bias, relu = ctx.meta
        out_dim = grad_out.shape[-1]
        grads = grad_out.reshape(g, s, -1, out_dim)
        if relu:
            out = out.view(g, s, -1, out_dim)
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = has_bias and ctx.needs_input_grad[2]
        gx = gw = gb = w_t = None
        if need_x or need_w:
            dtype = xc.dtype
            mixed = dtype != x_dtype or dtype != weight.dtype
            z_rows = xc.shape[1] * g * bins
            w_t = _tile_weight(weight, g, nj, bins, dtype)
            gx = xc.new_zeros(xc.shape, dtype=x_dtype) if need_x else None
            gw = w_t.new_zeros(w_t.shape, dtype=weight.dtype) if need_w else None
        if need_b:      # per group, summed at the end
            gb = grad_out.new_empty(len(groups), g * s * out_dim)
        if relu or w_t is not None:   # a group's gradient as bags [rows_v, G, S, O]
            buf = grad_out.new_empty(max(groups), g, s, out_dim,
                                     dtype=dtype if w_t is not None else grad_out.dtype)
        r0 = lo = 0
        for v, rows_v in enumerate(groups):
            if not rows_v:
                if need_b:
                    gb[v] = 0
                continue
            grad_v = grads[:, :, r0:r0 + rows_v].permute(2, 0, 1, 3)   # [rows_v, G, S, O]
            if relu:        # the ReLU's mask, one group at a time
                grad_v = torch.mul(grad_v, out[:, :, r0:r0 + rows_v].permute(2, 0, 1, 3) > 0,
                                   out=buf[:rows_v])
            elif w_t is not None:
                grad_v = buf[:rows_v].copy_(grad_v)
            if need_b:
                torch.sum(grad_v.reshape(rows_v, -1), 0, out=gb[v])
            r0 += rows_v
            if w_t is None:
                continue
            grad_v = grad_v.view(rows_v * g, s * out_dim)
            size = rows_v * g * per_bag
            for j in range(nj):
                tile = v * nj + j
                off = offsets[tile * z_rows:(tile + 1) * z_rows + 1]
                dz = torch.nn.functional.embedding_bag(
                    bag_of[lo:lo + size], grad_v, off - lo,
                    per_sample_weights=weights[lo:lo + size], mode='sum',
                    include_last_offset=True).view(xc.shape[1], -1)
                lo += size
                if gw is not None:
                    if mixed:
                        gw[j] += xc[v].t() @ dz
                    else:
                        gw[j].addmm_(xc[v].t(), dz)
                if gx is not None:
                    if mixed:
                        gx[v] += dz @ w_t[j].t()
                    else:
                        gx[v].addmm_(dz, w_t[j].t())
        del w_t                         # before the weight gradient's copy: a lower peak
        if gw is not None:
            gw = _untile_weight(gw, g, bins, weight.shape)
        if gb is not None:
            gb = gb.sum(0).view(g * s, 1, out_dim)
        return gx, gw, gb, None, None, None, None, None


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
