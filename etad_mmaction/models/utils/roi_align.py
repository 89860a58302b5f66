"""Temporal RoI alignment by linear interpolation and rescaling (G-TAD style, App. A.2)."""
import torch
from torch import Tensor


def boundary_regions(proposals: Tensor, context_ratio: float = 0.5):
    """Start, end and extended regions of proposals ``[..., 2]`` (App. A.2).

    With ``d = t_e - t_s`` and ``r = context_ratio`` (the paper's "2/d", read as
    half the proposal length): start ``(t_s - r d, t_s)``, end ``(t_e, t_e + r d)``,
    extended ``(t_s - r d, t_e + r d)``. Returns three ``[..., 2]`` tensors.
    """
    ts, te = proposals[..., 0], proposals[..., 1]
    ctx = (te - ts).clamp(min=0) * context_ratio
    start = torch.stack([ts - ctx, ts], dim=-1)
    end = torch.stack([te, te + ctx], dim=-1)
    extended = torch.stack([ts - ctx, te + ctx], dim=-1)
    return start, end, extended


def interpolation_taps(regions: Tensor, num_snippets: int, num_bins: int,
                       samples_per_bin: int = 2):
    """Linear-interpolation taps of the bins of each region.

    Snippet ``i`` covers ``[i, i + 1)``; its feature sits at ``i + 0.5``. Each bin
    averages ``samples_per_bin`` evenly spaced points, each point reads its two
    neighbouring snippets; points outside ``[-0.5, T - 0.5]`` read zeros (padding).
    The regions carry no gradient.

    Returns ``index`` (long) and ``weight``, both ``[B, N, num_bins, 2 * samples_per_bin]``:
    bin ``j`` of region ``n`` is ``sum_k weight[n, j, k] * x[index[n, j, k]]``.
    """
    b, n = regions.shape[:2]
    t = num_snippets
    p = num_bins * samples_per_bin
    regions = regions.detach()
    steps = (torch.arange(p, device=regions.device, dtype=regions.dtype) + 0.5) / p
    pos = regions[..., 0:1] + (regions[..., 1:2] - regions[..., 0:1]) * steps   # [B, N, P]
    u = pos - 0.5                                                          # index coordinate
    i0 = torch.floor(u)
    w1 = u - i0
    i0 = i0.long()
    i1 = i0 + 1
    w0 = (1.0 - w1) * ((i0 >= 0) & (i0 < t))
    w1 = w1 * ((i1 >= 0) & (i1 < t))
    index = torch.stack([i0, i1], dim=-1).clamp(0, t - 1)                  # [B, N, P, 2]
    weight = torch.stack([w0, w1], dim=-1) / samples_per_bin
    shape = (b, n, num_bins, samples_per_bin * 2)
    return index.view(shape), weight.view(shape)


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


def roi_align_linear(feats: Tensor, regions: Tensor, weight: Tensor, num_bins: int,
                     samples_per_bin: int = 2, max_chunk_elements: int = 1 << 24) -> Tensor:
    """``temporal_roi_align(feats, regions) @ weight`` without materialising the
    RoI features: exact, by linearity of the interpolation.

    The product is first taken per snippet and bin, ``Z[b, t, j] = x_t W_j``
    (``W_j`` the rows of bin ``j``), then each proposal sums the ``Z`` rows of
    its taps (one ``embedding_bag``). That costs ``B T bins C O`` plus
    ``B N bins taps O`` instead of ``B N bins C O`` multiply-adds, which is what
    makes the first FC layer of the proposal head cheap (Table 6: 128 x 32 inputs).

    ``Z`` (``B T bins O`` values, 400 MB for the extended branch at B = 16,
    T = 128) is not kept for the backward pass, but it is the step's largest
    temporary, and so is its gradient: videos are processed in groups whose ``Z``
    holds at most ``max_chunk_elements`` values (exact: a proposal only reads
    its own video's rows; at least one video per group).

    Args:
        feats: ``[B, C, T]``; regions: ``[B, N, 2]``;
        weight: ``[num_bins * C, O]`` with bin-major rows.
    Returns ``[B, N, O]``.
    """
    b, c, t = feats.shape
    n = regions.shape[1]
    out_dim = weight.shape[1]
    index, tap_w = interpolation_taps(regions, t, num_bins, samples_per_bin)
    group = max(1, min(b, max_chunk_elements // max(1, t * num_bins * out_dim)))
    base = (torch.arange(b, device=feats.device) % group).view(b, 1, 1, 1) * t
    bins = torch.arange(num_bins, device=feats.device).view(1, 1, num_bins, 1)
    flat = ((base + index) * num_bins + bins).view(b, n, -1)   # rows within a group's Z
    tap_w = tap_w.view(b, n, -1).to(feats.dtype)
    w_r = weight.view(num_bins, c, out_dim).transpose(0, 1).reshape(c, num_bins * out_dim)
    outs = []
    for lo in range(0, b, group):
        hi = min(b, lo + group)
        # Z[((b - lo) * T + t) * bins + j, :] = x[b, :, t] @ W_j
        z = (feats[lo:hi].transpose(1, 2).reshape(-1, c) @ w_r).view(-1, out_dim)
        outs.append(torch.nn.functional.embedding_bag(
            flat[lo:hi].reshape((hi - lo) * n, -1), z,
            per_sample_weights=tap_w[lo:hi].reshape((hi - lo) * n, -1), mode='sum'))
    out = outs[0] if len(outs) == 1 else torch.cat(outs)
    return out.view(b, n, out_dim)
