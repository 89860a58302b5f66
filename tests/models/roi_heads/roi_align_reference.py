"""Test-only reference of the fused RoI layer: ``temporal_roi_align(feats, regions)
@ weight`` through :func:`taps_linear` with one branch (what the proposal head
computes for each branch at once)."""
from torch import Tensor

from etad_mmaction.models.utils.roi_align import interpolation_taps, taps_linear


def roi_align_linear(feats: Tensor, regions: Tensor, weight: Tensor, num_bins: int,
                     samples_per_bin: int = 2, max_chunk_elements: int = 1 << 24) -> Tensor:
    """``temporal_roi_align(feats, regions) @ weight`` without materialising the
    RoI features: exact, by linearity of the interpolation.

    Args:
        feats: ``[B, C, T]``; regions: ``[B, N, 2]``;
        weight: ``[num_bins * C, O]`` with bin-major rows.
    Returns ``[B, N, O]``. See :func:`taps_linear`.
    """
    b, n = regions.shape[:2]
    index, tap_w = interpolation_taps(regions, feats.shape[2], num_bins, samples_per_bin)
    out = taps_linear(feats, index.unsqueeze(2), tap_w.unsqueeze(2), weight[None],
                      max_chunk_elements)                                # [1, B * N, O]
    return out.view(b, n, -1)
