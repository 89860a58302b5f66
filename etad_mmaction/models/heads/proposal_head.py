"""Cascade proposal evaluation head of ETAD (Appendix A.2, Table 6)."""
from typing import Dict, List, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from ..utils.parallel_mlp import ParallelMLP
from ..utils.roi_align import (interpolation_taps, proposal_regions, taps_linear,
                               temporal_roi_align)


class ProposalEvaluationStage(nn.Module):
    """One proposal evaluation module (Table 6).

    RoI features at ``roi_channels`` (128): start and end features (8 bins each)
    feed the start / end offset regressors; the extended feature (32 bins) feeds
    the center/width regressor, the start/end classifier and the IoU
    classifier+regressor. Each is an FC stack 512-128-128-128. Branches reading
    the same feature run as one batched matrix product (``ParallelMLP``).
    """

    def __init__(self, in_channels: int = 256, roi_channels: int = 128,
                 boundary_bins: int = 8, extended_bins: int = 32,
                 hidden_dims: Sequence[int] = (512, 128, 128, 128),
                 context_ratio: float = 0.5, samples_per_bin: int = 2,
                 num_groups: int = 16, max_log_width: float = 4.0, fused_roi: bool = True,
                 roi_group_elements: int = 1 << 24):
        super().__init__()
        self.fused_roi = fused_roi
        self.roi_group_elements = roi_group_elements
        self.reduce = nn.Sequential(nn.Conv1d(in_channels, roi_channels, 1),
                                    nn.GroupNorm(num_groups, roi_channels), nn.ReLU(inplace=True))
        self.boundary_bins = boundary_bins
        self.extended_bins = extended_bins
        self.context_ratio = context_ratio
        self.samples_per_bin = samples_per_bin
        self.max_log_width = max_log_width
        hidden = list(hidden_dims)
        # branch 0: start offset (start feature), branch 1: end offset (end feature)
        self.boundary_mlp = ParallelMLP(2, [roi_channels * boundary_bins] + hidden + [1])
        # branches on the extended feature: 0 center/width offsets, 1 start/end
        # classification, 2 IoU (classification, regression); each outputs 2
        self.extended_mlp = ParallelMLP(3, [roi_channels * extended_bins] + hidden + [2])

    def forward(self, feats: Tensor, proposals: Tensor, reduced: Tensor = None) -> Dict[str, Tensor]:
        """``feats [B, C, T]``, ``proposals [B, N, 2]`` (snippet units) -> dict of ``[B, N]``
        predictions and ``refined [B, N, 2]``. ``reduced`` may pass ``self.reduce(feats)``
        computed once when proposals are processed in chunks."""
        b, n = proposals.shape[:2]
        x = self.reduce(feats) if reduced is None else reduced    # [B, 128, T]
        regions = proposal_regions(proposals, self.context_ratio)       # [B, N, 3, 2]
        if self.fused_roi:
            # RoI alignment folded into the first FC layer (exact, see taps_linear): the
            # taps of all three regions in one pass, start and end as two branches of
            # one product, the extended region as one
            (s_idx, s_w), (e_idx, e_w), (x_idx, x_w) = interpolation_taps(
                regions, x.shape[2], (self.boundary_bins, self.boundary_bins,
                                      self.extended_bins), self.samples_per_bin)
            group = self.roi_group_elements
            bd_idx = torch.stack([s_idx, e_idx], dim=2)                # [B, N, 2, bins, taps]
            bd_w = torch.stack([s_w, e_w], dim=2)
            h = taps_linear(x, bd_idx, bd_w, self.boundary_mlp.weights[0], group)
            h = h.permute(2, 0, 1, 3).reshape(2, b * n, -1)              # [2, B*N, 512]
            offsets = self.boundary_mlp._rest(h + self.boundary_mlp.biases[0])
            h = taps_linear(x, x_idx.unsqueeze(2), x_w.unsqueeze(2),
                            self.extended_mlp.first_layer_weight()[None], group)
            ext = self.extended_mlp.forward_hidden(h.view(b * n, -1))
        else:
            start_r, end_r, ext_r = regions.unbind(2)
            bd_regions = torch.cat([start_r, end_r], dim=1)            # [B, 2N, 2]
            bd_feat = temporal_roi_align(x, bd_regions, self.boundary_bins, self.samples_per_bin)
            bd_feat = bd_feat.view(b, 2, n, -1).transpose(0, 1).reshape(2, b * n, -1)
            ext_feat = temporal_roi_align(x, ext_r, self.extended_bins, self.samples_per_bin)
            offsets = self.boundary_mlp(bd_feat)                       # [2, B*N, 1]
            ext = self.extended_mlp(ext_feat.reshape(b * n, -1))       # [3, B*N, 2]
        out = dict(
            start_offset=offsets[0, :, 0].view(b, n),
            end_offset=offsets[1, :, 0].view(b, n),
            center_offset=ext[0, :, 0].view(b, n),
            width_offset=ext[0, :, 1].view(b, n),
            start_prob=torch.sigmoid(ext[1, :, 0]).view(b, n),
            end_prob=torch.sigmoid(ext[1, :, 1]).view(b, n),
            iou_cls=torch.sigmoid(ext[2, :, 0]).view(b, n),
            iou_reg=torch.sigmoid(ext[2, :, 1]).view(b, n))
        out['refined'] = self.refine(proposals, out)
        return out

    def refine(self, proposals: Tensor, out: Dict[str, Tensor]) -> Tensor:
        """Average of the start/end-offset and center/width refinements (App. A.2).

        Offsets are normalised by the proposal length ``d``; the width offset is
        in log scale: ``w' = d * exp(dw)``.
        """
        ts, te = proposals[..., 0], proposals[..., 1]
        d = (te - ts).clamp(min=1e-3)
        s1 = ts + out['start_offset'] * d
        e1 = te + out['end_offset'] * d
        c2 = (ts + te) / 2 + out['center_offset'] * d
        w2 = d * torch.exp(out['width_offset'].clamp(-self.max_log_width, self.max_log_width))
        s2, e2 = c2 - w2 / 2, c2 + w2 / 2
        return torch.stack([(s1 + s2) / 2, (e1 + e2) / 2], dim=-1)


@MODELS.register_module()
class CascadeProposalHead(BaseModule):
    """``num_stages`` proposal evaluation stages, each refining the previous one's
    proposals (App. A.2: 3 stages, positive IoU thresholds 0.7, 0.8, 0.9).

    ``forward(feats, proposals)`` returns the list of stage outputs; the proposals
    passed to stage ``i+1`` are stage ``i``'s refinements, detached (each stage is
    trained on its own inputs, as in cascade detectors).

    ``roi_group_elements`` bounds the fused RoI layer's temporary (videos are
    processed in groups, see :func:`taps_linear`): smaller saves memory,
    larger dispatches fewer operations; results are identical.
    """

    def __init__(self, num_stages: int = 3, pos_iou_thresholds: Sequence[float] = (0.7, 0.8, 0.9),
                 in_channels: int = 256, roi_channels: int = 128, boundary_bins: int = 8,
                 extended_bins: int = 32, hidden_dims: Sequence[int] = (512, 128, 128, 128),
                 context_ratio: float = 0.5, samples_per_bin: int = 2, num_groups: int = 16,
                 fused_roi: bool = True, roi_group_elements: int = 1 << 24, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(pos_iou_thresholds) != num_stages:
            raise ValueError(f'proposal_head.pos_iou_thresholds has {len(pos_iou_thresholds)} '
                             f'values for num_stages={num_stages}')
        self.num_stages = num_stages
        self.pos_iou_thresholds = tuple(float(t) for t in pos_iou_thresholds)
        self.stages = nn.ModuleList([
            ProposalEvaluationStage(in_channels, roi_channels, boundary_bins, extended_bins,
                                    hidden_dims, context_ratio, samples_per_bin, num_groups,
                                    fused_roi=fused_roi, roi_group_elements=roi_group_elements)
            for _ in range(num_stages)])

    def forward(self, feats: Tensor, proposals: Tensor) -> List[Dict[str, Tensor]]:
        outputs = []
        for stage in self.stages:
            out = stage(feats, proposals)
            out['proposals'] = proposals
            outputs.append(out)
            proposals = out['refined'].detach()
        return outputs

    def reduce_features(self, feats: Tensor) -> List[Tensor]:
        """Each stage's channel-reduced features, for chunked inference."""
        return [stage.reduce(feats) for stage in self.stages]

    def forward_reduced(self, reduced: List[Tensor], proposals: Tensor) -> List[Dict[str, Tensor]]:
        """Like :meth:`forward` with features already reduced by :meth:`reduce_features`."""
        outputs = []
        for stage, x in zip(self.stages, reduced):
            out = stage(None, proposals, reduced=x)
            out['proposals'] = proposals
            outputs.append(out)
            proposals = out['refined'].detach()
        return outputs
