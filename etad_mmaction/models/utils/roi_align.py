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


def temporal_roi_align(feats: Tensor, regions: Tensor, num_bins: int,
                       samples_per_bin: int = 2) -> Tensor:
    """Sample ``num_bins`` features inside each region by linear interpolation.

    Snippet ``i`` covers ``[i, i + 1)`` on the snippet axis, its feature sits at
    ``i + 0.5``. Each bin averages ``samples_per_bin`` evenly spaced points;
    points outside ``[-0.5, T - 0.5]`` read zeros (padding). One gather for all
    proposals of the batch; no loop over proposals.

    Args:
        feats: ``[B, C, T]`` snippet features.
        regions: ``[B, N, 2]`` regions in snippet units.
    Returns:
        ``[B, N, num_bins * C]`` features, bin-major (``[bin0 channels, bin1 ...]``).
    """
    b, c, t = feats.shape
    n = regions.shape[1]
    p = num_bins * samples_per_bin
    start, end = regions[..., 0:1], regions[..., 1:2]
    steps = (torch.arange(p, device=feats.device, dtype=feats.dtype) + 0.5) / p
    pos = start + (end - start) * steps                          # [B, N, P]
    u = pos - 0.5                                                # index coordinate
    i0 = torch.floor(u)
    w1 = u - i0                                                  # weight of i0 + 1
    i0 = i0.long()
    i1 = i0 + 1
    valid0 = (i0 >= 0) & (i0 < t)
    valid1 = (i1 >= 0) & (i1 < t)
    w0 = (1.0 - w1) * valid0
    w1 = w1 * valid1
    rows = feats.transpose(1, 2).reshape(b * t, c)               # [B*T, C]
    base = (torch.arange(b, device=feats.device) * t).view(b, 1, 1)
    idx = torch.stack([i0.clamp(0, t - 1), i1.clamp(0, t - 1)], dim=-1) + base[..., None]
    gathered = rows.index_select(0, idx.reshape(-1)).view(b, n, p, 2, c)
    weights = torch.stack([w0, w1], dim=-1).unsqueeze(-1)        # [B, N, P, 2, 1]
    sampled = (gathered * weights).sum(dim=3)                    # [B, N, P, C]
    if samples_per_bin > 1:
        sampled = sampled.view(b, n, num_bins, samples_per_bin, c).mean(dim=3)
    return sampled.reshape(b, n, num_bins * c)
