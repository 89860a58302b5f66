"""Losses of ETAD (Appendix A.3, Eq. 1-4).

Every normaliser (Eq. 2's ``N+``/``N-``, the IoU bins, the positives of the
regression) is a count over the whole global batch: under data parallelism the
counts are summed across ranks and each rank's sum is scaled by the world size,
so that the gradient averaged by DDP equals the single-process gradient on the
concatenated batch. Negative sub-sampling for the IoU classifier is defined per
video (seeded by the video's sampling generator), so it does not depend on how
the batch is split; the authors' batch-ratio draws use global counts.
"""
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.logging import print_log
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


def _probability(prob: Tensor) -> Tensor:
    """``prob`` clamped to ``[eps, 1 - eps]`` in at least float32: in bf16/fp16 (autocast)
    ``1 - 1e-6`` rounds to 1, so a saturated probability would give ``log(0)`` and,
    times a zero mask, NaN."""
    if prob.dtype in (torch.float16, torch.bfloat16):
        prob = prob.float()
    return prob.clamp(_EPS, 1 - _EPS)


def balanced_bce(prob: Tensor, target: Tensor, staged: bool = False) -> Tensor:
    """Positive/negative-balanced cross entropy (Eq. 2, divided by ``N``):
    ``-(1/2N+) sum_pos log p - (1/2N-) sum_neg log(1 - p)``. ``staged``: the
    first dim indexes cascade stages, each with its own counts (returns ``[S]``)."""
    prob = _probability(prob)
    pos = target > 0.5
    pos_term = -_total(torch.log(prob) * pos, staged)
    neg_term = -_total(torch.log(1 - prob) * (~pos), staged)
    counts = global_count(torch.stack([_total(pos, staged), _total(~pos, staged)]))
    w = _world()
    return 0.5 * w * (pos_term / counts[0].clamp(min=1) + neg_term / counts[1].clamp(min=1))


def masked_bce(prob: Tensor, pos_w: Tensor, neg_w: Tensor) -> Tensor:
    """Cross entropy over weighted positives and negatives, per stage (first dim):
    ``-(sum w+ log p + sum w- log(1 - p)) / (sum w+ + sum w-)`` (A.3; the
    authors' ``bce_sample_loss`` with its sampled masks). Returns ``[S]``."""
    prob = _probability(prob)
    pos_w, neg_w = pos_w.to(prob.dtype), neg_w.to(prob.dtype)
    bce = -(pos_w * torch.log(prob) + neg_w * torch.log(1 - prob))
    return normalised(_total(bce, True), _total(pos_w, True) + _total(neg_w, True))


@MODELS.register_module()
class ETADLoss(BaseModule):
    """Eq. 1: ``la L_bd_s + sum_i (lb L_bd_p^i + lc L_iou^i + ld L_rg^i)``.

    What counts as positive, and which negatives are drawn, is decided by the
    RoI head (``model.roi_head.train_cfg``); this module applies the masks it
    gets. The start/end classifier of the proposals uses the balanced BCE of
    Eq. 2 unless the head passes sampled masks (the authors' code); the IoU
    regression is balanced over the IoU bins (BMN) unless the head passes
    sampled weights.

    Args:
        loss_weights (dict): ``boundary`` (lambda_a), ``proposal_boundary``
            (lambda_b), ``iou_cls`` and ``iou_reg`` (lambda_c, the two terms of
            Eq. 3; ``iou`` sets both), ``regression`` (lambda_d).
        smooth_l1_beta (float): beta of the smooth-L1 offsets loss (Eq. 4).
    """

    def __init__(self, loss_weights: Optional[Dict[str, float]] = None,
                 smooth_l1_beta: float = 1.0, iou_cls_pos_threshold=None, iou_reg_bins=None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if iou_cls_pos_threshold is not None:
            raise KeyError('model.loss.iou_cls_pos_threshold moved to '
                           'model.roi_head.train_cfg.iou_cls_pos_thr')
        if iou_reg_bins is not None:
            raise KeyError('model.loss.iou_reg_bins moved to model.roi_head.train_cfg.iou_reg_bins')
        weights = dict(boundary=1.0, proposal_boundary=1.0, iou_cls=1.0, iou_reg=1.0,
                       regression=10.0)
        given = dict(loss_weights or {})
        if 'iou' in given:               # the key of earlier releases: both terms of Eq. 3
            both = given.pop('iou')
            given.update(iou_cls=both, iou_reg=both)
            print_log(f'model.loss.loss_weights.iou={both} sets loss_weights.iou_cls and '
                      'loss_weights.iou_reg (the key of earlier releases)',
                      logger='current', level=30)
        unknown = set(given) - set(weights)
        if unknown:
            raise KeyError(f'model.loss.loss_weights has unknown keys {sorted(unknown)}; '
                           f'expected {sorted(weights)} (or iou)')
        weights.update(given)
        self.loss_weights = weights
        self.smooth_l1_beta = smooth_l1_beta

    def boundary_loss(self, probs: Tensor, targets: Tensor) -> Tensor:
        """Snippet startness + endness, Eq. 2 each. ``probs, targets [B, 2, T]``."""
        return balanced_bce(probs.transpose(0, 1), targets.transpose(0, 1), staged=True).sum()

    @staticmethod
    def iou_reg_loss(iou_reg: Tensor, gt_iou: Tensor, masks: Dict[str, Tensor]) -> Tensor:
        """L2 IoU regression per stage (``[S, B, N]`` -> ``[S]``): weighted by
        ``masks['iou_reg_weight']`` if given, else each non-empty bin of
        ``masks['iou_reg_bins']`` (low, middle, high) weighs equally."""
        sq = (iou_reg - gt_iou).square()
        if 'iou_reg_weight' in masks:
            w = masks['iou_reg_weight'].to(sq.dtype)
            return normalised(_total(sq * w, True), _total(w, True))
        bins = masks['iou_reg_bins']
        counts = global_count(torch.stack([_total(m, True) for m in bins]))   # [3, S]
        nonempty = (counts > 0).sum(dim=0).clamp(min=1)
        # an empty bin contributes 0 / 1 (no host synchronisation on its count)
        reg = sum(_total(sq * m, True) / c.clamp(min=1) for m, c in zip(bins, counts))
        return reg * _world() / nonempty

    def regression_loss(self, pred: Tensor, target: Tensor, pos: Tensor) -> Tensor:
        """Eq. 4 per stage: smooth-L1 on start, end, center and width offsets of
        positives (``pred, target [S, B, N, 4]``, ``pos [S, B, N]``; returns ``[S]``)."""
        loss = F.smooth_l1_loss(pred, target, beta=self.smooth_l1_beta, reduction='none').sum(-1)
        return normalised(_total(loss * pos, True), _total(pos, True))

    def forward(self, boundary_probs: Tensor, boundary_targets: Tensor,
                stage_outputs: List[Dict[str, Tensor]], stage_targets: Dict[str, Tensor],
                masks: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The stages' losses are computed together on ``[S, B, N]`` stacks (one set of
        kernels for the cascade), each stage with its own normalisers, and reported
        per stage (``s{i}.loss_*``). ``stage_outputs``: one dict per stage;
        ``stage_targets``: ``iou``, ``offsets``, ``start_cls``, ``end_cls`` stacked
        ``[S, B, N(, 4)]``; ``masks``: from ``ETADRoIHead.loss_inputs``."""
        w = self.loss_weights
        losses = dict(loss_boundary=w['boundary'] * self.boundary_loss(boundary_probs,
                                                                        boundary_targets))
        out = {k: torch.stack([o[k] for o in stage_outputs]) for k in (
            'start_prob', 'end_prob', 'iou_cls', 'iou_reg', 'start_offset', 'end_offset',
            'center_offset', 'width_offset')}
        tgt = stage_targets
        if 'start_pos' in masks:
            pb = masked_bce(out['start_prob'], masks['start_pos'], masks['start_neg']) + \
                masked_bce(out['end_prob'], masks['end_pos'], masks['end_neg'])
        else:
            pb = balanced_bce(out['start_prob'], tgt['start_cls'], staged=True) + \
                balanced_bce(out['end_prob'], tgt['end_cls'], staged=True)
        iou = (w['iou_cls'] * masked_bce(out['iou_cls'], masks['iou_cls_pos'],
                                         masks['iou_cls_neg'])
               + w['iou_reg'] * self.iou_reg_loss(out['iou_reg'], tgt['iou'], masks))
        pred = torch.stack([out['start_offset'], out['end_offset'], out['center_offset'],
                            out['width_offset']], dim=-1)
        reg = self.regression_loss(pred, tgt['offsets'], masks['reg_pos'])
        pb, reg = w['proposal_boundary'] * pb, w['regression'] * reg
        for i in range(len(stage_outputs)):
            losses[f's{i}.loss_proposal_boundary'] = pb[i]
            losses[f's{i}.loss_iou'] = iou[i]
            losses[f's{i}.loss_regression'] = reg[i]
        return losses
