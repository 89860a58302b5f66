"""ETADLoss: the stacked cascade loss equals the per-stage definition (Eq. 1-4)."""
import torch

import etad_mmaction  # noqa: F401
from mmaction.registry import MODELS


def _balanced_bce_reference(p, t, eps=1e-6):
    """Eq. 2 with boolean indexing."""
    p = p.clamp(eps, 1 - eps)
    pos = t > 0.5
    return 0.5 * (-torch.log(p[pos]).sum() / max(int(pos.sum()), 1)
                  - torch.log(1 - p[~pos]).sum() / max(int((~pos).sum()), 1))


def _stage_losses_reference(out, tgt, neg, thr, eps=1e-6):
    """Eq. 2-4 of one stage, written out with boolean indexing and plain means."""
    import torch.nn.functional as F
    bal = _balanced_bce_reference
    pb = bal(out['start_prob'], tgt['start_cls']) + bal(out['end_prob'], tgt['end_cls'])
    g = tgt['iou']
    pos = g > 0.9
    sel = pos | neg
    p = out['iou_cls'].clamp(eps, 1 - eps)
    bce = torch.where(pos, -torch.log(p), -torch.log(1 - p))
    cls = bce[sel].sum() / max(int(sel.sum()), 1)
    sq = (out['iou_reg'] - g).square()
    means = [sq[m].mean() for m in (g <= 0.3, (g > 0.3) & (g <= 0.7), g > 0.7) if m.any()]
    iou = cls + sum(means) / max(len(means), 1)
    pred = torch.stack([out[k] for k in ('start_offset', 'end_offset', 'center_offset',
                                         'width_offset')], -1)
    rpos = g > thr
    rg = F.smooth_l1_loss(pred[rpos], tgt['offsets'][rpos], reduction='sum') / max(
        int(rpos.sum()), 1)
    return pb, iou, 10.0 * rg


def test_stacked_cascade_loss_equals_per_stage_definition():
    """The cascade's losses computed together on [S, B, N] stacks equal Eq. 2-4
    applied to each stage alone (float64), including a stage with an empty IoU bin
    and no positives."""
    loss = MODELS.build(dict(type='ETADLoss'))
    g = torch.Generator().manual_seed(0)
    b, n, thr = 2, 30, (0.7, 0.8, 0.9)
    outs, tgts, negs = [], [], []
    for s in range(3):
        r = lambda *shape: torch.rand(*shape, generator=g, dtype=torch.float64)  # noqa: E731
        out = {k: r(b, n) for k in ('start_prob', 'end_prob', 'iou_cls', 'iou_reg')}
        out.update({k: r(b, n) - 0.5 for k in ('start_offset', 'end_offset', 'center_offset',
                                                'width_offset')})
        iou = r(b, n) if s < 2 else r(b, n) * 0.25         # stage 2: only the low bin
        tgts.append(dict(iou=iou, offsets=r(b, n, 4) - 0.5,
                         start_cls=(r(b, n) > 0.7).double(), end_cls=(r(b, n) > 0.7).double()))
        outs.append(out)
        negs.append(r(b, n) > 0.8)
    bd = torch.rand(b, 2, 16, generator=g, dtype=torch.float64)
    bd_t = (torch.rand(b, 2, 16, generator=g) > 0.8).double()
    stacked = {k: torch.stack([t[k] for t in tgts]) for k in tgts[0]}
    iou = stacked['iou']
    masks = dict(reg_pos=iou > torch.tensor(thr, dtype=iou.dtype).view(-1, 1, 1),
                 iou_cls_pos=iou > 0.9, iou_cls_neg=torch.stack(negs) & (iou <= 0.9),
                 iou_reg_bins=(iou <= 0.3, (iou > 0.3) & (iou <= 0.7), iou > 0.7))
    got = loss(bd, bd_t, outs, stacked, masks)
    for s in range(3):
        ref = _stage_losses_reference(outs[s], tgts[s], negs[s], thr[s])
        for name, value in zip(('loss_proposal_boundary', 'loss_iou', 'loss_regression'), ref):
            torch.testing.assert_close(got[f's{s}.{name}'], value, rtol=1e-12, atol=1e-12)
    ref_bd = _balanced_bce_reference(bd[:, 0], bd_t[:, 0]) + \
        _balanced_bce_reference(bd[:, 1], bd_t[:, 1])
    torch.testing.assert_close(got['loss_boundary'], ref_bd, rtol=1e-12, atol=1e-12)


def test_cross_entropies_stay_finite_on_saturated_half_precision_probabilities():
    """Under autocast a sigmoid saturates to exactly 0 or 1 in bf16/fp16, where
    ``1 - 1e-6`` rounds to 1: the losses clamp in float32, so they stay finite and
    equal the float32 loss of the same probabilities (this was a NaN boundary loss
    under --amp on the CPU, epoch 3 of a sweep run)."""
    from etad_mmaction.models.losses.etad_loss import balanced_bce, masked_bce
    prob = torch.tensor([[1.0, 0.0, 0.7, 1.0], [0.2, 1.0, 0.0, 0.9]])
    target = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    pos_w, neg_w = target, 1 - target
    for dtype in (torch.bfloat16, torch.float16):
        half = prob.to(dtype)
        got = balanced_bce(half, target, staged=True)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, balanced_bce(half.float(), target, staged=True))
        got = masked_bce(half, pos_w, neg_w)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, masked_bce(half.float(), pos_w, neg_w))
