"""Temporal RoI feature extraction of ETAD's proposal stages (App. A.2).

Two conventions, as options of one registered extractor:

- ``'linear'`` (paper text, this project's default): snippet ``i`` covers
  ``[i, i + 1)`` with its feature at ``i + 0.5``; each bin averages
  ``samples_per_bin`` evenly spaced linear-interpolation points; the start,
  end and extended regions are sampled separately.
- ``'roi_align'`` (the authors' released code): ``roi_align(aligned=False)``
  on a ``[C, T, 1]`` map, feature ``i`` at position ``i``, an adaptive number of
  bilinear samples per bin (``ceil(region length / bins)``, regions shorter
  than one snippet count as one), samples past the ends clamped.

Either way the extractor returns *taps* (snippet indices and weights per bin),
which the proposal heads fold into their first FC layer
(:func:`~etad_mmaction.models.utils.roi_align.taps_linear`).
"""
from typing import Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmaction.registry import MODELS
from ..utils.roi_align import interpolation_taps, proposal_regions

Taps = Tuple[Tensor, Tensor]


def roi_align_taps(regions: Tensor, num_snippets: int, num_bins: int) -> Taps:
    """Taps of ``roi_align(aligned=False, sampling_ratio=-1)`` along time.

    ``regions [..., 2]`` (snippet positions, feature ``i`` at ``i``) ->
    ``index`` (long) and ``weight`` ``[..., num_bins, 2 * P]``. A bin of height
    ``h`` averages ``g = ceil(h / bins)`` samples (regions shorter than one
    snippet count as one); samples outside ``[-1, T]`` read zero, so only the at
    most ``P = min(max g, 2 T + 4)`` samples of a bin from its first one at
    ``>= -1`` are kept (one host synchronisation for ``max g``); unused slots
    weigh 0.
    """
    regions = regions.detach()
    t = num_snippets
    lo = regions[..., 0]
    height = (regions[..., 1] - lo).clamp(min=1.0)
    bin_size = height / num_bins
    grid = torch.ceil(height / num_bins).nan_to_num(nan=1.0)              # [...]
    step = bin_size / grid                     # > 0.5 whenever g > 1: <= 2 T + 3 inside
    p = max(min(int(grid.max()) if grid.numel() else 1, 2 * t + 4), 1)
    j = torch.arange(num_bins, device=regions.device, dtype=regions.dtype)
    bin_lo = lo[..., None] + j * bin_size[..., None]                      # [..., bins]
    first = torch.ceil((-1.0 - bin_lo) / step[..., None] - 0.5).clamp(min=0)
    k = first[..., None] + torch.arange(p, device=regions.device, dtype=regions.dtype)
    g = grid[..., None, None]
    y = bin_lo[..., None] + (k + 0.5) * bin_size[..., None, None] / g     # [..., bins, P]
    used = (k < g) & (y >= -1.0) & (y <= t)
    y = y.clamp(min=0.0)
    y_lo = torch.floor(y)
    at_end = y_lo >= t - 1
    y_lo = torch.where(at_end, torch.full_like(y_lo, t - 1), y_lo)
    frac = torch.where(at_end, torch.zeros_like(y), y - y_lo)
    w_hi = frac * used / g
    w_lo = (1.0 - frac) * used / g
    i_lo = y_lo.nan_to_num(0.0).clamp(0, t - 1).long()
    i_hi = torch.where(at_end, i_lo, i_lo + 1)
    index = torch.stack([i_lo, i_hi], dim=-1).flatten(-2)
    weight = torch.stack([w_lo, w_hi], dim=-1).flatten(-2)
    return index.clamp(0, t - 1), weight


@MODELS.register_module()
class TemporalRoIExtractor(BaseModule):
    """Interpolation taps of each proposal's start, end and extended regions.

    With ``d = t_e - t_s`` and ``r = context_ratio``: start ``(t_s - r d, t_s)``,
    end ``(t_e, t_e + r d)``, extended ``(t_s - r d, t_e + r d)`` (App. A.2).

    Args:
        convention (str): ``'linear'`` or ``'roi_align'`` (see the module doc).
        extended_bins (int): bins of the extended region (paper 32, code 24).
        boundary_bins (int): bins of the start and of the end region (paper 8,
            code 6).
        samples_per_bin (int): linear-interpolation points per bin
            (``'linear'`` only; ``'roi_align'`` adapts to the region length).
        context_ratio (float): ``r``.
        boundary_from_extended (bool): the start/end features are the first /
            last ``boundary_bins`` bins of the extended region (the authors'
            code) instead of regions of their own.
    """

    def __init__(self, convention: str = 'linear', extended_bins: int = 32,
                 boundary_bins: int = 8, samples_per_bin: int = 2,
                 context_ratio: float = 0.5, boundary_from_extended: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if convention not in ('linear', 'roi_align'):
            raise ValueError("roi_extractor.convention must be 'linear' or 'roi_align', "
                             f'got {convention!r}')
        if boundary_from_extended and 2 * boundary_bins > extended_bins:
            raise ValueError(f'roi_extractor.boundary_bins={boundary_bins} is more than half '
                             f'of extended_bins={extended_bins}')
        self.convention = convention
        self.extended_bins = extended_bins
        self.boundary_bins = boundary_bins
        self.samples_per_bin = samples_per_bin
        self.context_ratio = context_ratio
        self.boundary_from_extended = boundary_from_extended

    def regions(self, proposals: Tensor) -> Tensor:
        """``[..., 3, 2]``: start, end and extended regions of ``[..., 2]`` proposals.
        The linear convention clamps negative lengths to 0; the authors' code
        extends by the signed length."""
        return proposal_regions(proposals, self.context_ratio,
                                clamp_length=self.convention == 'linear')

    def forward(self, proposals: Tensor, num_snippets: int) -> Tuple[Taps, Taps]:
        """``proposals [B, N, 2]`` -> ``(boundary, extended)`` taps:
        ``boundary`` index/weight ``[B, N, 2, boundary_bins, taps]`` (start, end),
        ``extended`` ``[B, N, 1, extended_bins, taps]``."""
        regions = self.regions(proposals)
        if self.convention == 'roi_align':
            x_idx, x_w = roi_align_taps(regions[..., 2, :], num_snippets, self.extended_bins)
            if not self.boundary_from_extended:
                s_idx, s_w = roi_align_taps(regions[..., 0, :], num_snippets,
                                            self.boundary_bins)
                e_idx, e_w = roi_align_taps(regions[..., 1, :], num_snippets,
                                            self.boundary_bins)
        elif self.boundary_from_extended:
            x_idx, x_w = interpolation_taps(regions[..., 2, :], num_snippets,
                                            self.extended_bins, self.samples_per_bin)
        else:
            (s_idx, s_w), (e_idx, e_w), (x_idx, x_w) = interpolation_taps(
                regions, num_snippets, (self.boundary_bins, self.boundary_bins,
                                        self.extended_bins), self.samples_per_bin)
        if self.boundary_from_extended:
            nb = self.boundary_bins
            s_idx, s_w = x_idx[..., :nb, :], x_w[..., :nb, :]
            e_idx, e_w = x_idx[..., -nb:, :], x_w[..., -nb:, :]
        boundary = (torch.stack([s_idx, e_idx], dim=2), torch.stack([s_w, e_w], dim=2))
        return boundary, (x_idx.unsqueeze(2), x_w.unsqueeze(2))

    @staticmethod
    def gather(feats: Tensor, taps: Taps) -> Tensor:
        """Materialised RoI features (reference path): ``feats [B, C, T]``, taps
        ``[B, N, G, bins, taps]`` -> ``[G, B * N, bins * C]`` (bin-major)."""
        index, weight = taps
        b, c, _ = feats.shape
        n, g, bins, k = index.shape[1:]
        rows = feats.transpose(1, 2)                                      # [B, T, C]
        picked = torch.gather(rows, 1, index.reshape(b, -1, 1).expand(-1, -1, c))
        picked = picked.view(b, n, g, bins, k, c) * weight.unsqueeze(-1).to(feats.dtype)
        return picked.sum(4).permute(2, 0, 1, 3, 4).reshape(g, b * n, bins * c)
