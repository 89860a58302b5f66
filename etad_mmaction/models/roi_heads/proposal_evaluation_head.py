"""One proposal evaluation stage of ETAD's cascade (Appendix A.2, Table 6)."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from ..utils.parallel_mlp import ParallelMLP
from ..utils.roi_align import taps_linear
from .temporal_roi_extractor import TemporalRoIExtractor


#: the extended branches detection needs (center/width offsets, IoU); branch 1, the
#: start/end classifier, only feeds the loss
SCORING_BRANCHES = slice(0, 3, 2)


@MODELS.register_module()
class ProposalEvaluationHead(BaseModule):
    """Predictions of one cascade stage for proposals ``[B, N, 2]`` (snippet units).

    The stage's features: ``x + relu(conv(x))`` if ``residual_kernel`` is set
    (the authors' code), then a reduce conv (``in -> roi_channels``). RoI
    features of the start and end regions feed the start / end offset
    regressors; the extended region feeds the center/width regressor, the
    start/end classifier and the IoU classifier + regressor. Each branch is an
    FC stack ``hidden_dims`` (Table 6: 512-128-128-128); with
    ``shared_extended_layer`` the three extended branches share their first
    layer (the authors' code). Branches reading the same feature run as one
    batched product (``ParallelMLP``); the RoI alignment is folded into the first
    FC layer (``taps_linear``, exact).

    Args:
        in_channels (int): channels of the neck output.
        roi_channels (int): channels after the reduce conv (128).
        hidden_dims (tuple): FC widths of each branch.
        boundary_bins, extended_bins (int): bins of the RoI features (must match
            the RoI head's extractor).
        num_groups (int, optional): GroupNorm groups after the reduce conv
            (``None``: no norm).
        reduce_kernel (int): kernel of the reduce conv (paper 1, code 3).
        residual_kernel (int, optional), residual_groups (int): the per-stage
            residual conv of the authors' code.
        shared_extended_layer (bool): one first FC layer for the three extended
            branches.
        center_width_scale (float): factor on the center/width outputs (code 0.5).
        max_log_width (float, optional): clamp of the log width offset.
        min_length (float, optional): lower bound of the proposal length in
            the offsets (snippets).
        mlp_init (str): ``'linear_default'`` (``nn.Linear``'s init) or
            ``'xavier_uniform'`` (zero biases; the authors' code).
        fused_roi (bool): fold RoI features into the first layer (default) or
            materialise them (reference path).
        roi_group_elements (int, optional): bound of the fused layer's tiles
            (values; ``None``: ``roi_align.TILE_ELEMENTS`` of the device).
        roi_matmul_dtype (str, optional): ``None`` (exact, default) or
            ``'bfloat16'``: the fused layer's products in bf16 (an inexact speed
            option, see :func:`taps_linear`; its mAP is in docs/benchmarks.md).
    """

    def __init__(self, in_channels: int = 256, roi_channels: int = 128,
                 hidden_dims: Sequence[int] = (512, 128, 128, 128),
                 boundary_bins: int = 8, extended_bins: int = 32,
                 num_groups: Optional[int] = 16, reduce_kernel: int = 1,
                 residual_kernel: Optional[int] = None, residual_groups: int = 1,
                 shared_extended_layer: bool = False, center_width_scale: float = 1.0,
                 max_log_width: Optional[float] = 4.0, min_length: Optional[float] = 1e-3,
                 mlp_init: str = 'linear_default', fused_roi: bool = True,
                 roi_group_elements: Optional[int] = None,
                 roi_matmul_dtype: Optional[str] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if roi_matmul_dtype not in (None, 'bfloat16'):
            raise ValueError("model.roi_head.stage_head.roi_matmul_dtype must be None or "
                             f"'bfloat16', got {roi_matmul_dtype!r}")
        if roi_matmul_dtype and not fused_roi:
            raise ValueError('model.roi_head.stage_head.roi_matmul_dtype needs fused_roi=True')
        self.roi_matmul_dtype = getattr(torch, roi_matmul_dtype) if roi_matmul_dtype else None
        self.in_channels = in_channels
        self.boundary_bins = boundary_bins
        self.extended_bins = extended_bins
        self.fused_roi = fused_roi
        self.roi_group_elements = roi_group_elements
        self.center_width_scale = center_width_scale
        self.max_log_width = max_log_width
        self.min_length = min_length
        self.shared_extended_layer = shared_extended_layer
        self.residual = None
        if residual_kernel:
            self.residual = nn.Sequential(
                nn.Conv1d(in_channels, in_channels, residual_kernel,
                          padding=residual_kernel // 2, groups=residual_groups),
                nn.ReLU(inplace=True))
        reduce = [nn.Conv1d(in_channels, roi_channels, reduce_kernel,
                            padding=reduce_kernel // 2)]
        if num_groups:
            reduce.append(nn.GroupNorm(num_groups, roi_channels))
        self.reduce = nn.Sequential(*reduce, nn.ReLU(inplace=True))
        hidden = list(hidden_dims)
        # branch 0: start offset (start feature), branch 1: end offset (end feature)
        self.boundary_mlp = ParallelMLP(2, [roi_channels * boundary_bins] + hidden + [1],
                                        init=mlp_init)
        # extended branches: 0 center/width offsets, 1 start/end classification,
        # 2 IoU (classification, regression); each outputs 2
        if shared_extended_layer:
            self.extended_shared = nn.Linear(roi_channels * extended_bins, hidden[0])
            if mlp_init == 'xavier_uniform':
                nn.init.xavier_uniform_(self.extended_shared.weight)
                nn.init.zeros_(self.extended_shared.bias)
            self.extended_mlp = ParallelMLP(3, hidden + [2], init=mlp_init)
        else:
            self.extended_mlp = ParallelMLP(3, [roi_channels * extended_bins] + hidden + [2],
                                            init=mlp_init)

    def stage_features(self, feats: Tensor) -> Tensor:
        """``[B, in, T]`` -> the reduced ``[B, roi_channels, T]`` this stage reads."""
        x = feats if self.residual is None else feats + self.residual(feats)
        return self.reduce(x)

    def forward(self, x: Tensor, proposals: Tensor,
                taps: Tuple[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor]],
                counts: Optional[Sequence[int]] = None,
                scoring_only: bool = False) -> Dict[str, Tensor]:
        """``x``: :meth:`stage_features` ``[B, R, T]``; ``taps``: the extractor's
        ``(boundary, extended)`` taps of ``proposals``. Returns ``[B, N]``
        predictions and ``refined [B, N, 2]``.

        ``counts`` (packed proposals): ``proposals [1, M, 2]`` hold ``counts[0]``
        proposals of video 0, then ``counts[1]`` of video 1, ... (no padding); the
        fused layer runs per video on its rows, the FC stacks on all of them at once.
        ``scoring_only``: leave out the start/end classifier (``start_prob`` /
        ``end_prob``), which only the loss reads (A.3); detection scores and
        refinements are unchanged.
        """
        b, n = proposals.shape[:2]
        (bd_idx, bd_w), (x_idx, x_w) = taps
        ext_branches = SCORING_BRANCHES if scoring_only else None
        if self.fused_roi:   # first layers from the taps: [branches, B*N, 512], activated
            h = self._fused(x, bd_idx, bd_w, self.boundary_mlp, counts)
            offsets = self.boundary_mlp.forward_after_first(h)
            if self.shared_extended_layer:
                h = self._fused(x, x_idx, x_w, self.extended_shared, counts)
                ext = self.extended_mlp(h[0], ext_branches)
            else:
                h = self._fused(x, x_idx, x_w, self.extended_mlp, counts, ext_branches)
                ext = self.extended_mlp.forward_after_first(h, ext_branches)
        else:
            if counts is not None:   # one row of features, taps moved to their video's
                t = x.shape[2]
                video = torch.repeat_interleave(torch.arange(len(counts), device=x.device),
                                                torch.tensor(counts, device=x.device))
                shift = (video * t).view(1, -1, 1, 1, 1)
                x = x.transpose(0, 1).reshape(1, x.shape[1], -1)         # [1, R, B*T]
                bd_idx, x_idx = bd_idx + shift, x_idx + shift
            offsets = self.boundary_mlp(TemporalRoIExtractor.gather(x, (bd_idx, bd_w)))
            ext_feat = TemporalRoIExtractor.gather(x, (x_idx, x_w))[0]
            if self.shared_extended_layer:
                ext_feat = torch.relu(self.extended_shared(ext_feat))
            ext = self.extended_mlp(ext_feat, ext_branches)
        cw = ext[0] * self.center_width_scale
        iou = ext[-1]
        out = dict(
            start_offset=offsets[0, :, 0].view(b, n),
            end_offset=offsets[1, :, 0].view(b, n),
            center_offset=cw[:, 0].view(b, n),
            width_offset=cw[:, 1].view(b, n),
            iou_cls=torch.sigmoid(iou[:, 0]).view(b, n),
            iou_reg=torch.sigmoid(iou[:, 1]).view(b, n))
        if not scoring_only:
            out.update(start_prob=torch.sigmoid(ext[1, :, 0]).view(b, n),
                       end_prob=torch.sigmoid(ext[1, :, 1]).view(b, n))
        out['refined'] = self.refine(proposals, out)
        return out

    def _fused(self, x: Tensor, index: Tensor, tap_w: Tensor, layer: nn.Module,
               counts: Optional[Sequence[int]], branches: Optional[slice] = None) -> Tensor:
        """The activations of the first layer of ``layer`` (a :class:`ParallelMLP`, of
        its ``branches`` if given, or the shared ``nn.Linear``) on the RoI features of
        the taps, through :func:`taps_linear` with the head's options (``counts``:
        packed proposals, each video's from its own tiles, as at batch 1):
        ``[branches, B*N, hidden]``."""
        if isinstance(layer, ParallelMLP):
            (weight, bias), relu = layer.layer(0, branches), len(layer.weights) > 1
        else:
            weight, bias, relu = layer.weight.t()[None], layer.bias.view(1, 1, -1), True
        return taps_linear(x, index, tap_w, weight, self.roi_group_elements,
                           self.roi_matmul_dtype, counts, bias=bias, relu=relu)

    def refine(self, proposals: Tensor, out: Dict[str, Tensor]) -> Tensor:
        """Average of the start/end-offset and center/width refinements (App. A.2).

        Offsets are normalised by the proposal length ``d``; the width offset is
        in log scale: ``w' = d * exp(dw)``.
        """
        ts, te = proposals[..., 0], proposals[..., 1]
        d = te - ts
        if self.min_length is not None:
            d = d.clamp(min=self.min_length)
        dw = out['width_offset']
        if self.max_log_width is not None:
            dw = dw.clamp(-self.max_log_width, self.max_log_width)
        s1 = ts + out['start_offset'] * d
        e1 = te + out['end_offset'] * d
        c2 = (ts + te) / 2 + out['center_offset'] * d
        w2 = d * torch.exp(dw)
        s2, e2 = c2 - w2 / 2, c2 + w2 / 2
        return torch.stack([(s1 + s2) / 2, (e1 + e2) / 2], dim=-1)
