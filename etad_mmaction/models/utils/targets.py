"""Training targets of ETAD (Appendix A.3): snippet boundaries and proposal targets."""
from typing import Dict, List

import torch
from torch import Tensor

from etad_mmaction.structures import pairwise_tiou


def snippet_boundary_targets(gt_segments: List[Tensor], num_snippets: int,
                             radius: float = 1.5) -> Tensor:
    """Binary startness/endness targets ``[B, 2, T]`` (BMN convention).

    Snippet ``i`` covers ``[i, i + 1)``; it is a start (end) positive when more
    than half of it lies inside ``[g - radius, g + radius]`` around some
    ground-truth start (end) ``g``.
    """
    out = []
    for gt in gt_segments:
        lo = torch.arange(num_snippets, device=gt.device, dtype=torch.float32)
        tgt = torch.zeros(2, num_snippets, device=gt.device)
        if gt.numel():
            for ch in range(2):
                centre = gt[:, ch].float().view(1, -1)                 # [1, G]
                inter = (torch.minimum(lo.view(-1, 1) + 1, centre + radius)
                         - torch.maximum(lo.view(-1, 1), centre - radius)).clamp(min=0)
                tgt[ch] = (inter.max(dim=1).values > 0.5).float()
        out.append(tgt)
    return torch.stack(out)


def proposal_targets(proposals: Tensor, gt_segments: List[Tensor],
                     radius: float = 1.5) -> Dict[str, Tensor]:
    """Targets of proposals ``[B, N, 2]`` against each video's ground truth.

    Returns ``iou`` (max tIoU) ``[B, N]``; ``offsets`` ``[B, N, 4]`` to the
    best-matching ground truth: start and end offsets normalised by the
    proposal length, center offset normalised by the length, log width ratio;
    ``start_cls`` / ``end_cls`` ``[B, N]``: the proposal's start (end) lies within
    ``radius`` snippets of some ground-truth start (end).
    """
    b, n = proposals.shape[:2]
    iou = proposals.new_zeros(b, n)
    offsets = proposals.new_zeros(b, n, 4)
    start_cls = proposals.new_zeros(b, n)
    end_cls = proposals.new_zeros(b, n)
    for i, gt in enumerate(gt_segments):
        if gt.numel() == 0:
            continue
        gt = gt.to(proposals)
        p = proposals[i]
        ious = pairwise_tiou(p, gt)                                     # [N, G]
        best, arg = ious.max(dim=1)
        iou[i] = best
        g = gt[arg]                                                     # [N, 2]
        ts, te = p[:, 0], p[:, 1]
        d = (te - ts).clamp(min=1e-3)
        gw = (g[:, 1] - g[:, 0]).clamp(min=1e-3)
        offsets[i, :, 0] = (g[:, 0] - ts) / d
        offsets[i, :, 1] = (g[:, 1] - te) / d
        offsets[i, :, 2] = ((g[:, 0] + g[:, 1]) / 2 - (ts + te) / 2) / d
        offsets[i, :, 3] = torch.log(gw / d)
        start_cls[i] = ((ts[:, None] - gt[None, :, 0]).abs() <= radius).any(dim=1).float()
        end_cls[i] = ((te[:, None] - gt[None, :, 1]).abs() <= radius).any(dim=1).float()
    return dict(iou=iou, offsets=offsets, start_cls=start_cls, end_cls=end_cls)
