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


def interpolation_matrix(regions: Tensor, num_snippets: int, num_bins: int,
                         samples_per_bin: int = 2, dtype=None) -> Tensor:
    """Dense linear-interpolation weights ``[B, N * num_bins, T]`` of the bins of
    each region: bin ``j`` of region ``n`` reads ``sum_t W[n * bins + j, t] x_t``.

    Snippet ``i`` covers ``[i, i + 1)``; its feature sits at ``i + 0.5``. Each bin
    averages ``samples_per_bin`` evenly spaced points; points outside
    ``[-0.5, T - 0.5]`` read zeros (padding). The regions carry no gradient.
    """
    b, n = regions.shape[:2]
    t = num_snippets
    p = num_bins * samples_per_bin
    regions = regions.detach()
    dtype = dtype or regions.dtype
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
    index = index.view(b, n * num_bins, samples_per_bin * 2)
    weight = weight.view(b, n * num_bins, samples_per_bin * 2).to(dtype)
    mat = torch.zeros(b, n * num_bins, t, device=regions.device, dtype=dtype)
    return mat.scatter_add_(2, index, weight)


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
