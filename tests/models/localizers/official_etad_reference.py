"""Test-only, independent re-statement of the definitions in the authors' ETAD code.

This module restates (not copies) what github.com/sming256/ETAD computes, so tests can
check the project's ETAD preset against it.  It was checked against the authors' code
(detector, targets, losses, rescale, soft-NMS) outside the project; see the lead's notes.

Conventions (all as in the authors' code):

* Times are normalised to [0, 1]; ``tscale`` is T (snippets after rescaling, 128 for ANet).
* Proposals / anchors are ``[start, end]`` pairs, ``anchors`` is ``[B, K, 2]``.
* The regression output of every stage is ``[B*K, 6]`` with columns
  ``(d_start, d_end, d_center, d_log_width, cls_start, cls_end)``; the IoU output is
  ``[B*K, 2]`` with columns ``(iou_cls, iou_reg)``.

Only torch / numpy are used; everything runs on CPU.
"""
import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

__all__ = [
    'ReferenceDetector', 'reference_refine', 'reference_anchor_map', 'reference_rescale',
    'reference_targets', 'reference_losses', 'reference_merged_predictions',
    'reference_scores', 'reference_soft_nms', 'reference_detections',
]


# --------------------------------------------------------------------------------------
# 1-D RoIAlign written as an interpolation matrix (same sampling rule as
# torchvision.ops.roi_align on a [.., T, 1] pseudo image, sampling_ratio=-1).
# --------------------------------------------------------------------------------------
def _interp_matrix(lo, hi, length, bins, aligned):
    """Weights W [N, bins, length] s.t. pooled[n, :, p] = sum_t W[n, p, t] * feat[:, t].

    lo/hi are 1-D tensors (box start/end in snippet units, the y-extent of the RoI);
    the dtype of lo/hi is the compute dtype (torchvision computes in the input's dtype).
    """
    half = 0.5 if aligned else 0.0
    y0 = lo - half
    y1 = hi - half
    span = y1 - y0
    if not aligned:  # legacy mode forces RoIs to be at least one cell tall
        span = torch.clamp(span, min=1.0)
    step = span / bins  # bin height
    nsamp = torch.ceil(span / bins)  # adaptive number of samples per bin
    count = torch.clamp(nsamp, min=1.0)  # the RoI width axis always gives one sample
    gmax = max(int(nsamp.max().item()) if nsamp.numel() else 0, 1)

    n = lo.shape[0]
    p = torch.arange(bins, dtype=lo.dtype).view(1, bins, 1)
    k = torch.arange(gmax, dtype=lo.dtype).view(1, 1, gmax) + 0.5
    y = (y0.view(n, 1, 1) + p * step.view(n, 1, 1)) + k * step.view(n, 1, 1) / nsamp.view(n, 1, 1)
    used = k < nsamp.view(n, 1, 1)  # only the first nsamp samples of a bin exist
    inside = (y >= -1.0) & (y <= float(length))  # outside this band a sample reads zero
    keep = (used & inside).to(lo.dtype)

    y = torch.clamp(y, min=0.0)
    low = torch.floor(y)
    last = low >= length - 1
    low = torch.where(last, torch.full_like(low, length - 1), low)
    y = torch.where(last, low, y)
    frac = y - low
    high = torch.where(last, low, low + 1)

    scale = keep / count.view(n, 1, 1)
    w = torch.zeros(n, bins, length, dtype=lo.dtype)
    w.scatter_add_(2, low.long().clamp(0, length - 1), (1.0 - frac) * scale)
    w.scatter_add_(2, high.long().clamp(0, length - 1), frac * scale)
    return w


def _pool_proposals(x, boxes, bins):
    """x [B, C, T]; boxes [B, K, 2] in snippet units (already extended) -> [B*K, C, bins]."""
    b, c, t = x.shape
    k = boxes.shape[1]
    w = _interp_matrix(boxes[..., 0].reshape(-1), boxes[..., 1].reshape(-1), t, bins, aligned=False)
    w = w.to(x.dtype).view(b, k * bins, t)
    pooled = torch.bmm(w, x.transpose(1, 2))  # [B, K*bins, C]
    return pooled.view(b, k, bins, c).permute(0, 1, 3, 2).reshape(b * k, c, bins)


def reference_rescale(feat, tscale):
    """Their ``torchvision_pool_data``: linear-interpolation rescale of feat [C, L] to
    [C, tscale] by an aligned RoIAlign over the whole sequence.  Quirk kept: the features
    *and the length L* go through float16 before the double-precision pooling, and the
    result is cast back to ``feat.dtype``."""
    length = feat.shape[1]
    src = feat.half().double()
    roi_end = torch.tensor([float(length)]).half().double()
    w = _interp_matrix(torch.zeros(1, dtype=torch.float64), roi_end, length, tscale,
                       aligned=True)[0]  # [tscale, L]
    return (src @ w.t()).to(feat.dtype)


# --------------------------------------------------------------------------------------
# Detector with the authors' parameter names.
# --------------------------------------------------------------------------------------
def _gn_block(cin, cout, k):
    return nn.Sequential(
        nn.Conv1d(cin, cout, kernel_size=k, padding=k // 2, groups=4, bias=False),
        nn.GroupNorm(16, cout), nn.ReLU())


def _mlp(dims, sigmoid=False):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


class _Enhance(nn.Module):
    """layer1 -> forward / backward LSTM branches + a conv branch -> layer3."""

    def __init__(self, cin):
        super().__init__()
        self.layer1 = _gn_block(cin, 256, 3)
        self.mem_f = nn.LSTM(256, 256, num_layers=1, batch_first=True)
        self.mem_b = nn.LSTM(256, 256, num_layers=1, batch_first=True)
        self.layer2_f = _gn_block(256, 128, 3)
        self.layer2_b = _gn_block(256, 128, 3)
        self.layer2_d = _gn_block(256, 256, 3)
        self.layer3 = _gn_block(512, 256, 1)

    def forward(self, x):
        x = self.layer1(x)
        seq = x.transpose(1, 2)  # [B, T, C]
        fwd = self.mem_f(seq)[0]
        bwd = self.mem_b(torch.flip(seq, [1]))[0]
        bwd = torch.flip(bwd, [1])  # back to natural time order
        parts = [self.layer2_f(fwd.transpose(1, 2)),
                 self.layer2_d(x),
                 self.layer2_b(bwd.transpose(1, 2))]
        return self.layer3(torch.cat(parts, 1))


class _ProposalStage(nn.Module):
    def __init__(self, tscale, roi_size, extend_ratio, cin=256, mid=512, fc=128):
        super().__init__()
        self.tscale, self.roi_size, self.extend_ratio = tscale, roi_size, extend_ratio
        c = cin // 2
        self.reduce_dim_before = nn.Sequential(nn.Conv1d(cin, c, 3, padding=1), nn.ReLU())
        self.reduce_dim_ext = nn.Sequential(nn.Linear(c * roi_size, mid), nn.ReLU())
        self.iou_fc = _mlp([mid, fc, fc, fc, 2], sigmoid=True)
        self.cls_se_fc = _mlp([mid, fc, fc, fc, 2], sigmoid=True)
        self.reg_cw_fc = _mlp([mid, fc, fc, fc, 2])
        edge_in = c * roi_size // 4
        self.reg_s_fc = _mlp([edge_in, mid, fc, fc, fc, 1])
        self.reg_e_fc = _mlp([edge_in, mid, fc, fc, fc, 1])

    def forward(self, x, anchors):
        x = self.reduce_dim_before(x)
        a = anchors * self.tscale
        length = a[..., 1] - a[..., 0]
        boxes = torch.stack([a[..., 0] - self.extend_ratio * length,
                             a[..., 1] + self.extend_ratio * length], -1)
        roi = _pool_proposals(x, boxes, self.roi_size)  # [N, C, R]
        n = roi.shape[0]
        edge = self.roi_size // 4
        # NB: theirs slices the end part with `-roi_size // 4` (== -(roi_size // 4) only
        # when roi_size % 4 == 0, which their layer sizes require anyway).
        head_start = roi[:, :, :edge].reshape(n, -1)
        head_end = roi[:, :, roi.shape[2] - edge:].reshape(n, -1)
        h = self.reduce_dim_ext(roi.reshape(n, -1))
        iou = self.iou_fc(h)
        reg = torch.cat([self.reg_s_fc(head_start), self.reg_e_fc(head_end),
                         self.reg_cw_fc(h) / 2, self.cls_se_fc(h)], 1)
        return iou, reg


class ReferenceDetector(nn.Module):
    """Same submodule/parameter names and shapes as the authors' ``detector_model`` (so
    their ``base_detector.*`` checkpoint keys load strictly once the prefix is stripped):
    temporal_enhance.{layer1,mem_f,mem_b,layer2_f,layer2_b,layer2_d,layer3}, tem,
    stage_conv.{i}, stage_pem.{i}.{reduce_dim_before,reduce_dim_ext,iou_fc,cls_se_fc,
    reg_cw_fc,reg_s_fc,reg_e_fc}; xavier-uniform weights / zero biases for every Conv1d
    and Linear (LSTMs and GroupNorms keep torch defaults), like theirs.

    ``extend_ratio`` is fixed at 0.5 in theirs (their cfg.MODEL.extend_ratio is ignored).
    """

    def __init__(self, in_channels=512, tscale=128, roi_size=24, num_stages=3, extend_ratio=0.5):
        super().__init__()
        self.temporal_enhance = _Enhance(in_channels)
        self.tem = nn.Sequential(nn.Conv1d(256, 256, 3, padding=1, groups=4), nn.ReLU(),
                                 nn.Conv1d(256, 2, 1), nn.Sigmoid())
        self.stage_conv = nn.ModuleList(
            nn.Sequential(nn.Conv1d(256, 256, 3, padding=1, groups=4), nn.ReLU())
            for _ in range(num_stages))
        self.stage_pem = nn.ModuleList(
            _ProposalStage(tscale, roi_size, extend_ratio) for _ in range(num_stages))
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, feats, anchors):
        """feats [B, C, T]; anchors [B, K, 2] (0..1) ->
        (tem_out [B, 2, T] (start, end probabilities),
         [(stage_anchors [B, K, 2], iou [B*K, 2], reg [B*K, 6]) per stage]).
        Stage i+1 uses reference_refine(stage_anchors_i, reg_i) (reg detached)."""
        x = self.temporal_enhance(feats)
        tem_out = self.tem(x)
        outs = []
        for conv, pem in zip(self.stage_conv, self.stage_pem):
            iou, reg = pem(x + conv(x), anchors)
            outs.append((anchors, iou, reg))
            anchors = reference_refine(anchors, reg)
        return tem_out, outs


# --------------------------------------------------------------------------------------
# Anchor refinement, anchor map, rescale
# --------------------------------------------------------------------------------------
def reference_refine(anchors, reg):
    """Their ``reg_to_anchors``: anchors [B, K, 2], reg [B*K, >=4] (detached) -> [B, K, 2].

    The new box is the average of two refinements:
      (a) start/end offsets: [s + d_s * len, e + d_e * len]
      (b) centre/log-width:  centre + d_c * len, width len * exp(d_w).
    Arithmetic is done in their order (via centre/length) to stay bit-close.
    """
    r = reg.detach().reshape(anchors.shape[0], -1, reg.shape[-1])
    ds, de, dc, dw = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
    s, e = anchors[..., 0], anchors[..., 1]
    ln = e - s
    ctr = (s + e) * 0.5
    ln_a = ln + ln * (de - ds)
    ctr_a = ctr + ln * (ds + de) * 0.5
    ctr_b = ctr + dc * ln
    ln_b = ln * torch.exp(dw)
    new_s = ((ctr_a - ln_a * 0.5) + (ctr_b - ln_b * 0.5)) * 0.5
    new_e = ((ctr_a + ln_a * 0.5) + (ctr_b + ln_b * 0.5)) * 0.5
    return torch.stack([new_s, new_e], -1)


def reference_anchor_map(tscale, dscale, grid_ratio=0.06):
    """Their dataset's anchor map.

    Returns (anchors [D, T, 2] float32, valid_mask [D, T] float32, grid_mask [D, T] float32):
    anchors[d, j] = [j / T, (j + d + 1) / T] where j + d < T, else [0, 0];
    ``anchors[mask.bool()]`` is in their order (duration-major, then start).
    grid_mask (their validation / 'grid' sampling): step = sqrt(1 / grid_ratio), rows and
    columns np.arange(1, n, step) rounded half-to-even -> never d == 0 nor j == 0.
    """
    starts = np.arange(tscale, dtype=np.float64) / tscale
    d = np.arange(dscale)[:, None]
    j = np.arange(tscale)[None, :]
    valid = (d + j) < tscale
    lo = np.broadcast_to(starts[None, :], (dscale, tscale))
    hi = (np.minimum(j + d, tscale - 1) + 1) / tscale
    anchors = np.stack([np.where(valid, lo, 0.0), np.where(valid, hi, 0.0)], -1)
    step = math.sqrt(1.0 / grid_ratio)
    rows = np.round(np.arange(1, dscale, step)).astype(int)
    cols = np.round(np.arange(1, tscale, step)).astype(int)
    grid = np.zeros((dscale, tscale))
    rr, cc = np.meshgrid(rows, cols, indexing='ij')
    sel = (rr + cc) < tscale
    grid[rr[sel], cc[sel]] = 1
    return (torch.tensor(anchors, dtype=torch.float32), torch.tensor(valid, dtype=torch.float32),
            torch.tensor(grid, dtype=torch.float32))


# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------
def _overlap(a_lo, a_hi, b_lo, b_hi):
    return torch.clamp(torch.minimum(a_hi, b_hi) - torch.maximum(a_lo, b_lo), min=0.0)


def reference_targets(gt_segments, anchors_init, tscale):
    """Their dataset's ``_get_gts`` for a batch.

    gt_segments: list (one per video) of float arrays [N, 2] in [0, 1] (re-clipped to
    [0, 1] like theirs; NO short-segment filtering: their filter tests subset == "train",
    which never holds); anchors_init [B, K, 2].
    Returns float32 (gt_start [B, T], gt_end [B, T], gt_bbox [B, K, 2]):
    * gt_start[t] = max_n |[t/T, (t+1)/T] ∩ [s_n - 1.5/T, s_n + 1.5/T]| / (1/T + 1e-6)
      (same for ends);
    * gt_bbox[k] = the GT with the highest IoU (eps 1e-6 in the denominator, first on ties)
      with the *initial* anchor k.  Computed in float64 like their numpy code.
    """
    cells = torch.arange(tscale, dtype=torch.float64)
    c_lo = cells / tscale
    c_hi = (cells + 1) / tscale
    half = 3.0 / tscale / 2
    starts, ends, boxes = [], [], []
    for segs, anc in zip(gt_segments, anchors_init):
        g = torch.as_tensor(np.asarray(segs, dtype=np.float64)).reshape(-1, 2).clamp(0.0, 1.0)
        a = anc.detach().cpu().to(torch.float64)
        curves = []
        for col in (0, 1):
            p = g[:, col]
            inter = _overlap(c_lo[:, None], c_hi[:, None], (p - half)[None], (p + half)[None])
            curves.append((inter / ((c_hi - c_lo)[:, None] + 1e-6)).max(1).values)
        inter = _overlap(a[:, 0:1], a[:, 1:2], g[None, :, 0], g[None, :, 1])  # [K, N]
        union = (a[:, 1:2] - a[:, 0:1]) + (g[:, 1] - g[:, 0])[None] - inter
        best = torch.argmax(inter / (union + 1e-6), dim=1)
        starts.append(curves[0])
        ends.append(curves[1])
        boxes.append(g[best])
    return (torch.stack(starts).float(), torch.stack(ends).float(), torch.stack(boxes).float())


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------
_EPS = 1e-6


def _balanced_bce(target, prob):
    """Their bce_balance_loss (positives: target > 0.5), over the flattened batch."""
    target = target.reshape(-1)
    prob = prob.reshape(-1)
    pos = (target > 0.5).float()
    neg = (target <= 0.5).float()
    n_pos, n_neg = pos.sum(), neg.sum()
    log_p = torch.log(prob + _EPS)
    log_n = torch.log(1.0 - prob + _EPS)
    if n_pos == 0:
        return -(neg * log_n).sum() / n_neg
    if n_neg == 0:
        return -(pos * log_p).sum() / n_pos
    w_pos = 0.5 * (n_pos + n_neg) / n_pos
    w_neg = 0.5 * (n_pos + n_neg) / n_neg
    return -(w_pos * pos * log_p + w_neg * neg * log_n).mean()


def _subsample(u, mask, ratio):
    """Keep an element of `mask` when its uniform exceeds 1 - ratio (ratio may be inf:
    then *every* element, masked or not, is kept -- their quirk)."""
    return ((u * mask) > (1 - ratio)).float()


def _sampled_bce(prob, target, thr, draw):
    pos = (target > thr).float()
    neg = (target <= thr).float()
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0:  # no draw in this branch
        return -torch.log(1.0 - prob + _EPS).mean()
    keep = _subsample(draw(), neg, n_pos / n_neg)
    total = pos * torch.log(prob + _EPS) + keep * torch.log(1.0 - prob + _EPS)
    return -total.sum() / (n_pos + keep.sum())


def _sampled_l2(pred, target, draw_mid, draw_low, hi=0.7, lo=0.3):
    m_hi = (target > hi).float()
    m_mid = ((target <= hi) & (target > lo)).float()
    m_low = (target <= lo).float()
    n_hi = m_hi.sum()
    sq = (pred - target) ** 2
    if n_hi == 0:  # no draw in this branch
        return sq.mean()
    keep_mid = _subsample(draw_mid(), m_mid, n_hi / m_mid.sum())
    keep_low = _subsample(draw_low(), m_low, n_hi / m_low.sum())
    weight = m_hi + keep_mid + keep_low
    return (sq * weight).sum() / weight.sum()


def _masked_smooth_l1(pred, target, iou, thr):
    m = (iou > thr).float()
    if m.sum() == 0:
        return pred.new_zeros(())
    return (F.smooth_l1_loss(pred, target, reduction='none') * m).sum() / m.sum()


def _aligned_iou(gt, anchors):
    """IoU of gt[b, k] with anchors[b, k]; NO epsilon (0/0 -> nan), negative areas allowed."""
    inter = _overlap(anchors[..., 0], anchors[..., 1], gt[..., 0], gt[..., 1])
    union = (anchors[..., 1] - anchors[..., 0]) + (gt[..., 1] - gt[..., 0]) - inter
    return (inter / union).reshape(-1)


def reference_losses(tem_out, stage_out, gt_start, gt_end, gt_bbox,
                     stage_thresholds=(0.7, 0.8, 0.9), uniforms=None,
                     coef_cls=1., coef_reg=5., coef_bnd=10., tscale=None):
    """Their TAL_loss.

    uniforms[stage] = dict(iou_cls=[B*K], iou_mid=[B*K], iou_low=[B*K], start_cls=[B*K],
    end_cls=[B*K]) replaces their torch.rand draws (their draw order inside a stage is
    iou_cls, iou_mid, iou_low, start_cls, end_cls; a draw is skipped when its loss takes
    the "no positive" branch).  uniforms=None draws torch.rand lazily in exactly their order,
    so a seeded call reproduces theirs.  ``tscale`` (their cfg.DATASET.tscale) defaults to
    gt_start.shape[1].

    Returns dict(tem, cost, stages=[dict(iou_cls, iou_reg, reg_se, reg_cw, cls_se, total)],
    stage1, stage2, ...), all scalar tensors; iou_cls / iou_reg / reg_se / reg_cw already
    multiplied by their coefficients and cls_se by 0.5; total is their per-stage loss.
    """
    T = gt_start.shape[1]
    tscale = T if tscale is None else tscale
    tem = _balanced_bce(gt_start, tem_out[:, 0, :]) + _balanced_bce(gt_end, tem_out[:, 1, :])
    stages = []
    for i, (anchors, iou, reg) in enumerate(stage_out):
        n = iou.shape[0]
        u = None if uniforms is None else uniforms[i]

        def draw(name, n=n, u=u, like=iou):
            if u is None:
                return lambda: torch.rand(n, dtype=torch.float32).to(like.device)
            return lambda: torch.as_tensor(u[name], dtype=torch.float32).reshape(-1).to(like.device)

        g_iou = _aligned_iou(gt_bbox, anchors)
        a_len = torch.clamp(anchors[..., 1] - anchors[..., 0], min=1e-6)
        g_len = torch.clamp(gt_bbox[..., 1] - gt_bbox[..., 0], min=1e-6)
        t_s = (gt_bbox[..., 0] - anchors[..., 0]) / a_len
        t_e = (gt_bbox[..., 1] - anchors[..., 1]) / a_len
        t_c = (t_s + t_e) * 0.5
        t_w = torch.log(g_len / a_len + 1e-6)
        t_s, t_e, t_c, t_w = (v.reshape(-1) for v in (t_s, t_e, t_c, t_w))
        i_s = (anchors[..., 0] * tscale).long().clamp(0, T - 1)  # truncation toward zero
        i_e = (anchors[..., 1] * tscale).long().clamp(0, gt_end.shape[1] - 1)
        c_s = torch.gather(gt_start, 1, i_s).reshape(-1)
        c_e = torch.gather(gt_end, 1, i_e).reshape(-1)

        # order of evaluation == their draw order
        l_iou_cls = coef_cls * _sampled_bce(iou[:, 0], g_iou, 0.9, draw('iou_cls'))
        l_iou_reg = coef_reg * _sampled_l2(iou[:, 1], g_iou, draw('iou_mid'), draw('iou_low'))
        thr = stage_thresholds[i]
        l_cw = coef_bnd * (_masked_smooth_l1(reg[:, 2], t_c, g_iou, thr)
                           + _masked_smooth_l1(reg[:, 3], t_w, g_iou, thr))
        l_se = coef_bnd * (_masked_smooth_l1(reg[:, 0], t_s, g_iou, thr)
                           + _masked_smooth_l1(reg[:, 1], t_e, g_iou, thr))
        l_cls = 0.5 * (_sampled_bce(reg[:, 4], c_s, 0.5, draw('start_cls'))
                       + _sampled_bce(reg[:, 5], c_e, 0.5, draw('end_cls')))
        total = (l_iou_reg + l_iou_cls) + l_cw + l_se + l_cls
        stages.append(dict(iou_cls=l_iou_cls, iou_reg=l_iou_reg, reg_se=l_se, reg_cw=l_cw,
                           cls_se=l_cls, total=total))
    cost = tem + torch.stack([s['total'] for s in stages]).sum()
    out = dict(tem=tem, cost=cost, stages=stages)
    for i, s in enumerate(stages):
        out['stage{}'.format(i + 1)] = s['total']
    return out


# --------------------------------------------------------------------------------------
# Inference / post-processing
# --------------------------------------------------------------------------------------
def reference_merged_predictions(stage_out):
    """Their inferer: (anchors [B, K, 2] = mean over stages of the refined stage anchors,
    ious [B, K, 2] = mean over stages of the IoU head)."""
    b = stage_out[0][0].shape[0]
    anchors = torch.stack([reference_refine(a, r) for a, _, r in stage_out]).mean(0)
    ious = torch.stack([o[1] for o in stage_out]).mean(0)
    return anchors, ious.reshape(b, -1, ious.shape[-1])


def _peaks_or_high(s):
    """Their boundary_choose: s > 0.5 * max, or a strict local maximum (zero padded)."""
    padded = np.concatenate([[0.0], s, [0.0]])
    peak = (padded[1:-1] > padded[:-2]) & (padded[1:-1] > padded[2:])
    return ((s > max(s) * 0.5) | peak).astype('float32')


def reference_scores(tem_out, stage_out, tscale):
    """Their inferer + the selection part of post_det, per video.

    Returns a list (one per video) of (xmins, xmaxs, scores) float64 numpy arrays of the
    selected proposals (normalised, in anchor order, NOT clipped to [0, 1]):
    score = iou_cls * iou_reg of the stage-averaged IoUs (product in float32);
    kept when start_mask[clip(int(xmin*T))] and end_mask[clip(int(xmax*T))] are both 1,
    masks from the TEM start / end curves, with start_mask[0] = end_mask[-1] = 1.
    """
    anchors, ious = reference_merged_predictions(stage_out)
    res = []
    for b in range(anchors.shape[0]):
        a = anchors[b].detach().cpu().numpy()
        iou = ious[b].detach().cpu().numpy()
        sm = _peaks_or_high(tem_out[b, 0].detach().cpu().numpy())
        em = _peaks_or_high(tem_out[b, 1].detach().cpu().numpy())
        sm[0] = 1.0
        em[-1] = 1.0
        scaled = a * tscale
        si = np.clip(scaled[:, 0].astype(int), 0, tscale - 1)
        ei = np.clip(scaled[:, 1].astype(int), 0, tscale - 1)
        keep = (sm[si] == 1) & (em[ei] == 1)
        conf = iou[:, 0] * iou[:, 1]
        res.append((a[keep, 0].astype(float), a[keep, 1].astype(float), conf[keep].astype(float)))
    return res


def _desc_order(scores, tie_break='stable'):
    """Descending order of `scores`.

    'stable': equal scores keep their input order.
    'pandas': what their ``df.sort_values(by="score", ascending=False)`` does (pandas
    default kind='quicksort', applied to the reversed array and reversed back, NaNs last).
    numpy's quicksort is not stable for more than 16 elements (and may be SIMD / CPU
    dependent), so the order of *tied* scores in their code is implementation-defined;
    this option reproduces it with the local numpy.
    """
    s = np.asarray(scores, dtype=float)
    if tie_break == 'stable':
        return np.argsort(-s, kind='stable')
    if tie_break != 'pandas':
        raise ValueError(tie_break)
    nan = np.isnan(s)
    idx = np.arange(len(s))[~nan][::-1]
    order = idx[s[~nan][::-1].argsort(kind='quicksort')][::-1]
    return np.concatenate([order, np.nonzero(nan)[0]]).astype(np.intp)


def reference_soft_nms(xmins, xmaxs, scores, iou_threshold=0.0, sigma=0.35, max_num=100,
                       tie_break='stable'):
    """Their Gaussian soft-NMS.  Returns float64 array [k, 3] of (score, xmin, xmax).

    Quirks kept: candidates are sorted by descending score first, then the first maximum
    is taken at every step (so among tied scores the sort order decides; ``tie_break``
    'stable' keeps input order, 'pandas' reproduces their unstable pandas sort);
    the loop stops when ONE candidate is left (that last one is dropped, so n inputs give
    at most n - 1 outputs, and 1 input gives none); the IoU used for decay is not clamped
    (disjoint boxes get negative IoU and are skipped by `> iou_threshold`); decay is
    score *= exp(-iou^2 / sigma) for iou > iou_threshold.
    """
    order = _desc_order(scores, tie_break)
    lo = np.asarray(xmins, dtype=float)[order]
    hi = np.asarray(xmaxs, dtype=float)[order]
    sc = np.asarray(scores, dtype=float)[order]
    out = []
    while sc.shape[0] > 1 and len(out) < max_num:
        top = int(np.argmax(sc))  # first maximum
        s0, e0, v0 = lo[top], hi[top], sc[top]
        out.append((v0, s0, e0))
        rest = np.arange(sc.shape[0]) != top
        lo, hi, sc = lo[rest], hi[rest], sc[rest]
        inter = np.minimum(e0, hi) - np.maximum(s0, lo)
        ov = inter / ((e0 - s0) + (hi - lo) - inter)
        hit = ov > iou_threshold
        sc = np.where(hit, sc * np.exp(-np.square(ov) / sigma), sc)
    return np.asarray(out, dtype=float).reshape(-1, 3)


def reference_detections(xmins, xmaxs, scores, iou_threshold=0.0, sigma=0.35, tie_break='stable'):
    """post_det after the selection: soft-NMS only when more than one proposal is
    selected, then sorted by descending score.  -> [k, 3] (score, xmin, xmax); their JSON
    then takes the first 100 rows and clips the segment to [0, 1] (times duration)."""
    if len(scores) > 1:
        rows = reference_soft_nms(xmins, xmaxs, scores, iou_threshold, sigma, tie_break=tie_break)
    else:
        rows = np.stack([np.asarray(scores, float), np.asarray(xmins, float),
                         np.asarray(xmaxs, float)], 1).reshape(-1, 3)
    return rows[_desc_order(rows[:, 0], tie_break)]
