"""Losses of ETAD (Appendix A.3, Eq. 1-4).

Every normaliser (Eq. 2's ``N+``/``N-``, the IoU bins, the positives of the
regression) is a count over the whole global batch: under data parallelism the
counts are summed across ranks and each rank's sum is scaled by the world size,
so that the gradient averaged by DDP equals the single-process gradient on the
concatenated batch. Negative sub-sampling for the IoU classifier is defined per
video (seeded by the video's sampling generator), so it does not depend on how
the batch is split.
"""
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmaction.registry import MODELS

_EPS = 1e-6


def _world() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def global_count(count: Tensor) -> Tensor:
    """Sum a (detached) count tensor over all ranks."""
    count = count.detach().float().clone()
    if _world() > 1:
        dist.all_reduce(count)
    return count


def normalised(total: Tensor, count: Tensor) -> Tensor:
    """``total`` (a local sum) divided by the global ``count``, times the world
    size (DDP averages gradients over ranks). Zero when the global count is 0."""
    g = global_count(count)
    return total * _world() / g.clamp(min=1.0)


def _total(x: Tensor, staged: bool) -> Tensor:
    """Sum of ``x``: over everything, or per stage (all dims but the first)."""
    return x.sum(dim=tuple(range(1, x.dim()))) if staged else x.sum()


def balanced_bce(prob: Tensor, target: Tensor, staged: bool = False) -> Tensor:
    """Positive/negative-balanced cross entropy (Eq. 2, divided by ``N``):
    ``-(1/2N+) sum_pos log p - (1/2N-) sum_neg log(1 - p)``. ``staged``: the
    first dim indexes cascade stages, each with its own counts (returns ``[S]``)."""
    prob = prob.clamp(_EPS, 1 - _EPS)
    pos = target > 0.5
    pos_term = -_total(torch.log(prob) * pos, staged)
    neg_term = -_total(torch.log(1 - prob) * (~pos), staged)
    counts = global_count(torch.stack([_total(pos, staged), _total(~pos, staged)]))
    w = _world()
    return 0.5 * w * (pos_term / counts[0].clamp(min=1) + neg_term / counts[1].clamp(min=1))


@MODELS.register_module()
class ETADLoss(BaseModule):
    """Eq. 1: ``la L_bd_s + sum_i (lb L_bd_p^i + lc L_iou^i + ld L_rg^i)``.

    Args:
        loss_weights (dict): ``boundary`` (lambda_a), ``proposal_boundary``
            (lambda_b), ``iou`` (lambda_c), ``regression`` (lambda_d).
        iou_cls_pos_threshold (float): IoU above which a proposal is a positive
            of the IoU classifier (0.9, A.3).
        iou_reg_bins (tuple): bin edges balancing the L2 IoU regression
            (BMN: low <= 0.3 < middle <= 0.7 < high).
        smooth_l1_beta (float): beta of the smooth-L1 offsets loss (Eq. 4).
    """

    def __init__(self, loss_weights: Optional[Dict[str, float]] = None,
                 iou_cls_pos_threshold: float = 0.9, iou_reg_bins=(0.3, 0.7),
                 smooth_l1_beta: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        weights = dict(boundary=1.0, proposal_boundary=1.0, iou=1.0, regression=10.0)
        unknown = set(loss_weights or {}) - set(weights)
        if unknown:
            raise KeyError(f'loss.loss_weights has unknown keys {sorted(unknown)}; '
                           f'expected {sorted(weights)}')
        weights.update(loss_weights or {})
        self.loss_weights = weights
        self.iou_cls_pos_threshold = iou_cls_pos_threshold
        self.iou_reg_bins = tuple(iou_reg_bins)
        self.smooth_l1_beta = smooth_l1_beta

    def boundary_loss(self, probs: Tensor, targets: Tensor) -> Tensor:
        """Snippet startness + endness, Eq. 2 each. ``probs, targets [B, 2, T]``."""
        return balanced_bce(probs.transpose(0, 1), targets.transpose(0, 1), staged=True).sum()

    def iou_loss(self, iou_cls: Tensor, iou_reg: Tensor, gt_iou: Tensor,
                 neg_mask: Tensor) -> Tensor:
        """Eq. 3 per stage (inputs ``[S, B, N]``, returns ``[S]``): BCE on positives
        (IoU > 0.9) and sampled negatives, plus an L2 regression balanced so the
        high, middle and low IoU bins weigh equally."""
        pos = gt_iou > self.iou_cls_pos_threshold
        sel = pos | neg_mask
        prob = iou_cls.clamp(_EPS, 1 - _EPS)
        bce = -(pos.float() * torch.log(prob) + (~pos).float() * torch.log(1 - prob))
        cls = normalised(_total(bce * sel, True), _total(sel, True))

        lo, hi = self.iou_reg_bins
        bins = [gt_iou <= lo, (gt_iou > lo) & (gt_iou <= hi), gt_iou > hi]
        counts = global_count(torch.stack([_total(m, True) for m in bins]))   # [3, S]
        nonempty = (counts > 0).sum(dim=0).clamp(min=1)
        sq = (iou_reg - gt_iou).square()
        # an empty bin contributes 0 / 1 (no host synchronisation on its count)
        reg = sum(_total(sq * m, True) / c.clamp(min=1) for m, c in zip(bins, counts))
        reg = reg * _world() / nonempty
        return cls + reg

    def regression_loss(self, pred: Tensor, target: Tensor, pos: Tensor) -> Tensor:
        """Eq. 4 per stage: smooth-L1 on start, end, center and width offsets of
        positives (``pred, target [S, B, N, 4]``, ``pos [S, B, N]``; returns ``[S]``)."""
        loss = F.smooth_l1_loss(pred, target, beta=self.smooth_l1_beta, reduction='none').sum(-1)
        return normalised(_total(loss * pos, True), _total(pos, True))

    def forward(self, boundary_probs: Tensor, boundary_targets: Tensor,
                stage_outputs: List[Dict[str, Tensor]], stage_targets: Dict[str, Tensor],
                neg_masks: Tensor, pos_thresholds) -> Dict[str, Tensor]:
        """The stages' losses are computed together on ``[S, B, N]`` stacks (one set of
        kernels for the cascade), each stage with its own normalisers, and reported
        per stage (``s{i}.loss_*``). ``stage_outputs``: one dict per stage;
        ``stage_targets``: :func:`proposal_targets` of all stages stacked
        (``[S, B, N(, 4)]``); ``neg_masks``: the IoU negatives ``[S, B, N]``."""
        w = self.loss_weights
        losses = dict(loss_boundary=w['boundary'] * self.boundary_loss(boundary_probs,
                                                                        boundary_targets))
        out = {k: torch.stack([o[k] for o in stage_outputs]) for k in (
            'start_prob', 'end_prob', 'iou_cls', 'iou_reg', 'start_offset', 'end_offset',
            'center_offset', 'width_offset')}
        tgt, neg = stage_targets, neg_masks
        thr = torch.tensor([float(t) for t in pos_thresholds]).to(tgt['iou'].device,
                                                                  non_blocking=True)
        pb = balanced_bce(out['start_prob'], tgt['start_cls'], staged=True) + \
            balanced_bce(out['end_prob'], tgt['end_cls'], staged=True)
        iou = self.iou_loss(out['iou_cls'], out['iou_reg'], tgt['iou'], neg)
        pred = torch.stack([out['start_offset'], out['end_offset'], out['center_offset'],
                            out['width_offset']], dim=-1)
        reg = self.regression_loss(pred, tgt['offsets'],
                                   tgt['iou'] > thr.view(-1, *([1] * (tgt['iou'].dim() - 1))))
        pb, iou, reg = w['proposal_boundary'] * pb, w['iou'] * iou, w['regression'] * reg
        for i in range(len(stage_outputs)):
            losses[f's{i}.loss_proposal_boundary'] = pb[i]
            losses[f's{i}.loss_iou'] = iou[i]
            losses[f's{i}.loss_regression'] = reg[i]
        return losses
