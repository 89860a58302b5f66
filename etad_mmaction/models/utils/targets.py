"""Training targets of ETAD (Appendix A.3): snippet boundaries and proposal targets."""
from typing import Dict, List, Tuple, Union

import torch
from torch import Tensor

from etad_mmaction.structures import pairwise_tiou


def pad_segments(gt_segments: List[Tensor], like: Tensor,
                 bucket: bool = False) -> Tuple[Tensor, Tensor]:
    """The videos' ground truth as one padded tensor: ``[B, G, 2]`` (``G`` = the
    largest count, at least 1; with ``bucket`` the next power of two, so that
    batches fall into few shapes) and a validity mask ``[B, G]``, on ``like``'s
    device. Batched targets need a constant number of kernels per step, not a
    loop over videos (on a GPU the step is otherwise bound by launches)."""
    counts = [int(gt.shape[0]) for gt in gt_segments]
    g = max(counts + [1])
    if bucket:
        g = 1 << (g - 1).bit_length()
    home = gt_segments[0].device if gt_segments else like.device
    gts = torch.nn.utils.rnn.pad_sequence(                                 # one C++ call
        [gt.reshape(-1, 2).to(home) for gt in gt_segments] + [torch.zeros(g, 2, device=home)],
        batch_first=True)[:-1].to(device=like.device, dtype=like.dtype, non_blocking=True)
    mask = torch.arange(g).view(1, g) < torch.tensor(counts).view(-1, 1)
    return gts, mask.to(like.device, non_blocking=True)


def snippet_boundary_targets(gt_segments: Union[List[Tensor], Tuple[Tensor, Tensor]],
                             num_snippets: int,
                             radius: float = 1.5) -> Tensor:
    """Binary startness/endness targets ``[B, 2, T]`` (BMN convention).

    Snippet ``i`` covers ``[i, i + 1)``; it is a start (end) positive when more
    than half of it lies inside ``[g - radius, g + radius]`` around some
    ground-truth start (end) ``g``. ``gt_segments``: one ``[G_i, 2]`` tensor per
    video, or ``(padded [B, G, 2], valid [B, G])`` from :func:`pad_segments`.
    """
    if not isinstance(gt_segments, tuple):
        device = gt_segments[0].device if gt_segments else 'cpu'
        gt_segments = pad_segments(gt_segments, torch.zeros((), device=device))
    gts, valid = gt_segments                                           # [B, G, 2], [B, G]
    lo = torch.arange(num_snippets, device=gts.device, dtype=torch.float32)
    centre = gts.float().transpose(1, 2).unsqueeze(2)                  # [B, 2, 1, G]
    lo = lo.view(1, 1, -1, 1)                                          # [1, 1, T, 1]
    inter = (torch.minimum(lo + 1, centre + radius)
             - torch.maximum(lo, centre - radius)).clamp(min=0)        # [B, 2, T, G]
    inter = inter * valid.view(-1, 1, 1, valid.shape[1])
    return (inter.amax(dim=3) > 0.5).float()


def proposal_targets(proposals: Tensor,
                     gt_segments: Union[List[Tensor], Tuple[Tensor, Tensor]],
                     radius: float = 1.5) -> Dict[str, Tensor]:
    """Targets of proposals ``[B, N, 2]`` against each video's ground truth.

    Returns ``iou`` (max tIoU) ``[B, N]``; ``offsets`` ``[B, N, 4]`` to the
    best-matching ground truth (the first one on ties): start and end offsets
    normalised by the proposal length, center offset normalised by the length,
    log width ratio; ``start_cls`` / ``end_cls`` ``[B, N]``: the proposal's start
    (end) lies within ``radius`` snippets of some ground-truth start (end). A
    video without ground truth gets zeros everywhere.
    """
    gts, valid = (gt_segments if isinstance(gt_segments, tuple)       # already padded
                  else pad_segments(gt_segments, proposals))           # [B, G, 2], [B, G]
    gts = gts.to(proposals)
    ious = pairwise_tiou(proposals, gts)                               # [B, N, G]
    ious = ious.masked_fill(~valid[:, None, :], -1.0)                  # padding never wins
    best, arg = ious.max(dim=2)
    has = valid.any(dim=1, keepdim=True)                               # [B, 1]
    iou = best.clamp(min=0)
    g = torch.gather(gts, 1, arg.unsqueeze(-1).expand(-1, -1, 2))      # [B, N, 2]
    ts, te = proposals[..., 0], proposals[..., 1]                      # [B, N]
    gs, ge = gts[:, None, :, 0], gts[:, None, :, 1]                    # [B, 1, G]
    d = (te - ts).clamp(min=1e-3)
    gw = (g[..., 1] - g[..., 0]).clamp(min=1e-3)
    offsets = torch.stack([(g[..., 0] - ts) / d, (g[..., 1] - te) / d,
                           ((g[..., 0] + g[..., 1]) / 2 - (ts + te) / 2) / d,
                           torch.log(gw / d)], dim=-1) * has.unsqueeze(-1)
    near_s = ((ts.unsqueeze(-1) - gs).abs() <= radius) & valid[:, None, :]
    near_e = ((te.unsqueeze(-1) - ge).abs() <= radius) & valid[:, None, :]
    return dict(iou=iou, offsets=offsets, start_cls=near_s.any(dim=2).to(proposals.dtype),
                end_cls=near_e.any(dim=2).to(proposals.dtype))
