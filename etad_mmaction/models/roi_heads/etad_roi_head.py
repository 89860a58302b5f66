"""ETAD's proposal stage as a cascade RoI head (Sec. 3.2-3.3, App. A.2-A.3, B.2).

Shaped like MMDetection's ``CascadeRoIHead``: a proposal sampler (DPS), a
temporal RoI extractor, one :class:`ProposalEvaluationHead` per stage, and the
stages' training targets and loss masks, configured per stage by
``train_cfg``; inference scoring and boundary selection by ``test_cfg``.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmaction.registry import MODELS, TASK_UTILS
from etad_mmaction.structures import pairwise_tiou
from ..losses.etad_loss import global_count
from ..samplers.seeding import counter_hash, hashed_uniforms
from ..utils.post_processing import boundary_selection_mask
from ..utils.proposal_map import valid_proposals
from ..utils.targets import proposal_targets
from .temporal_roi_extractor import TemporalRoIExtractor

#: proposal features of the feature-guided samplers (``ETADRoIHead.sampler_features``)
SAMPLER_FEATURES = ('pooled', 'roi')

DEFAULT_PROPOSAL_SAMPLER = dict(type='RandomProposalSampler', ratio=0.06)
TRAIN_DEFAULTS = dict(stage_pos_iou_thrs=(0.7, 0.8, 0.9), iou_cls_pos_thr=0.9,
                      iou_reg_bins=(0.3, 0.7), gt_assignment='per_stage',
                      boundary_labels='radius', negatives='per_video')
TEST_DEFAULTS = dict(score='paper', boundary_lookup='anchor', peak_ratio=0.5, edge_peaks=False,
                     proposal_chunk=4096, selected_only=True)
_CHOICES = dict(gt_assignment=('per_stage', 'initial'), boundary_labels=('radius', 'snippet'),
                negatives=('per_video', 'batch_ratio'), score=('paper', 'released'),
                boundary_lookup=('anchor', 'refined'))


def _merge(defaults: dict, cfg: Optional[dict], key: str) -> dict:
    out = dict(defaults)
    unknown = set(cfg or {}) - set(defaults)
    if unknown:
        raise KeyError(f'{key} has unknown keys {sorted(unknown)}; expected {sorted(defaults)}')
    out.update(cfg or {})
    for name, choices in _CHOICES.items():
        if name in out and out[name] not in choices:
            raise ValueError(f'{key}.{name} must be one of {choices}, got {out[name]!r}')
    return out


def matched_targets(proposals: Tensor, matched: Tensor, num_snippets: int,
                    has_gt: Tensor) -> Dict[str, Tensor]:
    """Targets against ground truth matched once (the authors' code): ``iou`` of
    each proposal with its matched segment (no epsilon) and the offsets computed
    on normalised ``[0, 1]`` coordinates with the authors' epsilons
    (lengths >= 1e-6, ``log(w_g / w_a + 1e-6)``). ``proposals, matched [..., 2]``."""
    a, g = proposals / num_snippets, matched / num_snippets
    inter = (torch.minimum(a[..., 1], g[..., 1])
             - torch.maximum(a[..., 0], g[..., 0])).clamp(min=0)
    iou = inter / ((a[..., 1] - a[..., 0]) + (g[..., 1] - g[..., 0]) - inter)
    a_len = (a[..., 1] - a[..., 0]).clamp(min=1e-6)
    g_len = (g[..., 1] - g[..., 0]).clamp(min=1e-6)
    ds, de = (g[..., 0] - a[..., 0]) / a_len, (g[..., 1] - a[..., 1]) / a_len
    offsets = torch.stack([ds, de, (ds + de) / 2, torch.log(g_len / a_len + 1e-6)], dim=-1)
    has = has_gt.view(*([1] * (iou.dim() - 2)), -1, 1).to(iou.dtype)      # videos: dim -2
    return dict(iou=torch.nan_to_num(iou) * has, offsets=offsets * has.unsqueeze(-1))


def ratio_sampled(pos: Tensor, uniforms: Tensor):
    """The authors' negative draw, per stage over the whole (global) batch:
    with ``r = #pos / #neg``, an entry is a sampled negative when
    ``u * [negative] > 1 - r``; without positives every entry is a negative
    (their fallback). ``pos, uniforms [S, ...]`` -> float weights (pos, neg)."""
    dims = tuple(range(1, pos.dim()))
    counts = global_count(torch.stack([pos.sum(dims), (~pos).sum(dims)]))   # [2, S]
    shape = (-1, *([1] * (pos.dim() - 1)))
    ratio = (counts[0] / counts[1]).view(shape)
    neg = ((uniforms * (~pos)) > (1 - ratio)).to(uniforms.dtype)
    none = (counts[0] == 0).view(shape)
    return (pos.to(uniforms.dtype) * ~none, torch.where(none, torch.ones_like(neg), neg))


def ratio_sampled_iou_reg(iou: Tensor, uniforms_mid: Tensor, uniforms_low: Tensor,
                          bins=(0.3, 0.7)) -> Tensor:
    """The authors' IoU-regression weights: every high-IoU proposal plus middle
    and low ones drawn with ratios ``#high / #middle`` and ``#high / #low``; all
    proposals (weight 1) when a stage has no high one. ``[S, ...]`` -> float."""
    lo, hi = bins
    high, mid, low = iou > hi, (iou > lo) & (iou <= hi), iou <= lo
    dims = tuple(range(1, iou.dim()))
    c = global_count(torch.stack([high.sum(dims), mid.sum(dims), low.sum(dims)]))  # [3, S]
    shape = (-1, *([1] * (iou.dim() - 1)))
    h, m, lw = (x.view(shape) for x in c)
    w = (high.to(iou.dtype) + ((uniforms_mid * mid) > (1 - h / m)).to(iou.dtype)
         + ((uniforms_low * low) > (1 - h / lw)).to(iou.dtype))
    return torch.where(h == 0, torch.ones_like(w), w)


@MODELS.register_module()
class ETADRoIHead(BaseModule):
    """Cascade of proposal evaluation stages on the dense proposal map.

    Args:
        num_snippets (int), max_duration (int): the proposal map (set by the
            localizer).
        num_stages (int): cascade stages (3).
        stage_head (dict): :class:`ProposalEvaluationHead` config, one copy per stage.
        roi_extractor (dict): :class:`TemporalRoIExtractor` config.
        proposal_sampler (dict, optional): DPS at training (``TASK_UTILS``, e.g.
            ``dict(type='RandomProposalSampler', ratio=0.06)``); ``None``: all.
        test_proposal_sampler (dict, optional): proposals at inference (default all).
        sampler_features (str): the proposal features of the feature-guided samplers
            (FPS, DPP; Sec. 3.3, App. H). ``'roi'``: each proposal's RoI features,
            as the paper: the first stage's extended-region RoI features
            (``roi_channels * extended_bins`` = 4,096 per proposal, 135 MB per video
            at T = 128 in float32). ``'pooled'`` (default): a cheap stand-in, the
            mean enhanced feature over the proposal plus its normalised start, end
            and length (259 per proposal): kept because the RoI features cost
            16x the memory and, for DPP on the host at every step, 250x the flops
            of the Gram matrix (``n c^2``) and 4,000x those of its
            eigen-decomposition (``c^3``).
        train_cfg (dict): ``stage_pos_iou_thrs`` (regression positives per stage),
            ``iou_cls_pos_thr`` (IoU-classifier positives), ``iou_reg_bins``,
            ``gt_assignment`` (``'per_stage'``: each stage's proposals matched to
            their best ground truth; ``'initial'``: matched once to the sampled
            proposals and reused, the authors' code), ``boundary_labels``
            (``'radius'``: start/end within the boundary radius of a ground-truth
            boundary; ``'snippet'``: the snippet target at ``int(start)`` /
            ``int(end)``, the authors' code), ``negatives`` (``'per_video'``: as
            many random negatives as positives per video, balanced losses;
            ``'batch_ratio'``: the authors' ratio draws over the batch for the IoU
            classifier, the IoU regression and the start/end classifier).
        test_cfg (dict): ``score`` (``'paper'``: ``p_s p_e mean_i(c_i r_i)``;
            ``'released'``: ``mean_i(c_i) mean_i(r_i)``), ``boundary_lookup``
            (``'anchor'``: selection masks at the proposal's first and last
            snippet; ``'refined'``: at ``int(start)`` / ``int(end)`` of the refined
            proposal, the authors' code), ``peak_ratio``, ``edge_peaks`` (the first
            and last snippets can be peaks, the authors' code), ``proposal_chunk``,
            ``selected_only`` (anchor lookup: evaluate only selected proposals).
    """

    def __init__(self, num_snippets: int = 128, max_duration: Optional[int] = None,
                 num_stages: int = 3,
                 stage_head: dict = dict(type='ProposalEvaluationHead'),
                 roi_extractor: dict = dict(type='TemporalRoIExtractor'),
                 proposal_sampler: Optional[dict] = DEFAULT_PROPOSAL_SAMPLER,
                 test_proposal_sampler: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 sampler_features: str = 'pooled', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if sampler_features not in SAMPLER_FEATURES:
            raise ValueError(f'model.roi_head.sampler_features must be one of '
                             f'{SAMPLER_FEATURES}, got {sampler_features!r}')
        self.sampler_features = sampler_features
        self.num_snippets = num_snippets
        self.max_duration = max_duration or num_snippets
        self.train_cfg = _merge(TRAIN_DEFAULTS, train_cfg, 'model.roi_head.train_cfg')
        self.test_cfg = _merge(TEST_DEFAULTS, test_cfg, 'model.roi_head.test_cfg')
        thrs = tuple(float(t) for t in self.train_cfg['stage_pos_iou_thrs'])
        if len(thrs) != num_stages:
            raise ValueError(f'model.roi_head.train_cfg.stage_pos_iou_thrs has {len(thrs)} '
                             f'values for num_stages={num_stages}')
        self.train_cfg['stage_pos_iou_thrs'] = thrs
        self.num_stages = num_stages
        self.roi_extractor = MODELS.build(dict(dict(type='TemporalRoIExtractor'),
                                               **roi_extractor))
        ext = self.roi_extractor
        self.stages = ModuleList()
        for _ in range(num_stages):
            cfg = dict(dict(type='ProposalEvaluationHead'), **stage_head)
            cfg.setdefault('boundary_bins', ext.boundary_bins)
            cfg.setdefault('extended_bins', ext.extended_bins)
            if (cfg['boundary_bins'], cfg['extended_bins']) != (ext.boundary_bins,
                                                               ext.extended_bins):
                raise ValueError('model.roi_head.stage_head bins (boundary_bins, '
                                 'extended_bins) differ from roi_extractor\'s')
            self.stages.append(MODELS.build(cfg))
        self.proposal_sampler = self._build_sampler(proposal_sampler,
                                                    'model.roi_head.proposal_sampler')
        self.test_proposal_sampler = self._build_sampler(
            test_proposal_sampler, 'model.roi_head.test_proposal_sampler')
        self.register_buffer('anchors', valid_proposals(num_snippets, self.max_duration),
                             persistent=False)                   # [n, 2] long
        self._register_plan('_train_plan', self.proposal_sampler)
        self._register_plan('_test_plan', self.test_proposal_sampler)

    @property
    def in_channels(self) -> int:
        return self.stages[0].in_channels

    @staticmethod
    def _build_sampler(cfg, key):
        if cfg is None:
            return None
        try:
            return TASK_UTILS.build(cfg)
        except KeyError as err:
            raise KeyError(f'{key}: unknown sampler type {cfg.get("type")!r} ({err})') from None
        except ValueError as err:
            raise ValueError(f'{key}: {err}') from None

    # ------------------------------------------------------------ proposals
    def _kernel_features(self, x: Tensor) -> Tensor:
        """Cheap proposal features for feature-guided samplers (FPS, DPP): the mean
        enhanced snippet feature over each proposal (prefix sums) plus its normalised
        start, end and length. ``x [C, T]`` -> ``[n, C + 3]``."""
        t = self.num_snippets
        csum = torch.nn.functional.pad(x.detach().cumsum(dim=1), (1, 0))   # [C, T+1]
        s, e = self.anchors[:, 0], self.anchors[:, 1]
        pooled = (csum[:, e] - csum[:, s]) / (e - s).to(x.dtype)           # [C, n]
        geo = torch.stack([s / t, e / t, (e - s) / t], dim=1).to(x.dtype)
        return torch.cat([pooled.t(), geo], dim=1)

    #: bytes of the gathered taps ``[B, chunk, bins, taps, C]`` per proposal chunk
    #: of :meth:`_roi_features`
    roi_feature_chunk_bytes = 2**28

    def _roi_features(self, x: Tensor, chunk: Optional[int] = None) -> Tensor:
        """The paper's proposal features (App. H) of every proposal of the map: the
        first stage's extended-region RoI features. ``x [B, C, T]`` -> ``[B, n,
        roi_channels * extended_bins]`` (bin-major), detached.

        The taps are computed once for the map (the same for every video) and
        gathered ``chunk`` proposals at a time (default: as many as fit in
        :attr:`roi_feature_chunk_bytes`, 256 MB), the same values as one
        :meth:`TemporalRoIExtractor.gather` of the whole map, whose
        ``[B, n, bins, taps, C]`` intermediate is 0.54 GB per video (linear)
        or 2.2 GB (roi_align) at T = 128. Peak: the output (135 MB per video in
        float32 at T = 128), the taps of the map and one chunk's intermediate.
        """
        with torch.no_grad():
            feats = self.stages[0].stage_features(x.detach())
            b, n = x.shape[0], self.anchors.shape[0]
            _, (index, weight) = self.roi_extractor(
                self.anchors.to(x.dtype).unsqueeze(0), x.shape[2])  # [1, n, 1, bins, taps]
            c, bins, taps = feats.shape[1], index.shape[3], index.shape[4]
            if chunk is None:
                per_proposal = b * bins * taps * c * feats.element_size()
                chunk = max(1, self.roi_feature_chunk_bytes // per_proposal)
            out = feats.new_empty(b, n, bins * c)
            for lo in range(0, n, int(chunk)):
                sl = slice(lo, min(n, lo + int(chunk)))
                taps_sl = (index[:, sl].expand(b, -1, -1, -1, -1),
                           weight[:, sl].expand(b, -1, -1, -1, -1))
                out[:, sl] = TemporalRoIExtractor.gather(feats, taps_sl)[0].view(
                    b, sl.stop - sl.start, -1)
            return out

    def sampler_feature_batch(self, x: Tensor) -> Tensor:
        """``[B, n, c]`` features of the proposals for FPS / DPP
        (``sampler_features``)."""
        if self.sampler_features == 'roi':
            return self._roi_features(x)
        return torch.stack([self._kernel_features(v) for v in x])

    def _register_plan(self, prefix: str, sampler) -> None:
        """Keep what a batched sampler precomputes from the map (``plan``) as
        buffers, so it follows the model to its device and into compiled graphs."""
        names = []
        if sampler is not None and sampler.batched:
            for name, value in sampler.plan(self.anchors.shape[0], self.anchors).items():
                self.register_buffer(f'{prefix}_{name}', value, persistent=False)
                names.append(name)
        setattr(self, f'{prefix}_names', tuple(names))

    def host_work(self) -> str:
        """Why the training step cannot trace as one graph ('' when it can)."""
        why = []
        sampler = self.proposal_sampler
        if sampler is not None and not sampler.batched:
            why.append(f'{type(sampler).__name__} samples on the host')
        if self.roi_extractor.convention == 'roi_align':
            why.append("the 'roi_align' extractor convention reads one count per stage")
        return '; '.join(why)

    def _plan(self, sampler) -> Dict[str, Tensor]:
        prefix = '_train_plan' if sampler is self.proposal_sampler else '_test_plan'
        return {n: getattr(self, f'{prefix}_{n}') for n in getattr(self, f'{prefix}_names')}

    def sample_proposals(self, x: Tensor, keys: Tensor, sampler,
                         gts: Optional[Tuple[Tensor, Tensor]] = None) -> Tensor:
        """Pick ``k`` proposals of the map per video -> ``[B, k, 2]`` float
        (all proposals when ``sampler`` is None).

        ``keys [B]``: each video's sampling key (stream ``'dps'``); ``gts``:
        ``(padded [B, G, 2], valid [B, G])`` for the label-guided samplers. Batched
        samplers draw on the device in tensor operations (traceable); FPS and DPP
        read the proposals' features (``sampler_features``); FPS runs the batch in
        one loop on an accelerator (per video on the CPU, or with torch_cluster
        when it is installed and ``backend='auto'``), DPP loops over the videos on
        the host.
        """
        anchors = self.anchors
        n = anchors.shape[0]
        if sampler is None:
            return anchors.float().unsqueeze(0).expand(x.shape[0], -1, -1)
        req = getattr(sampler, 'requires', ())
        kw = {}
        if 'features' in req:
            kw['features'] = self.sampler_feature_batch(x)
        if 'ious' in req or 'scales' in req:
            af = anchors.float()
            if gts is None:
                raise ValueError(f'{type(sampler).__name__} needs the ground truth to sample')
            padded, valid = gts
            iou = pairwise_tiou(af.unsqueeze(0).expand(padded.shape[0], -1, -1),
                                padded.to(af))                            # [B, n, G]
            kw['ious'] = iou.masked_fill(~valid[:, None, :], 0.0).amax(dim=2)
            kw['scales'] = ((af[:, 1] - af[:, 0]) / self.num_snippets).expand(
                padded.shape[0], -1)
        if sampler.batched:
            index = sampler.sample_batch(keys.to(anchors.device), n, coords=anchors,
                                         plan=self._plan(sampler), **kw)
        else:
            index = sampler.sample_batch(keys.cpu(), n, coords=anchors, **kw)
            # non-blocking: a blocking host-to-device copy waits for the queued kernels
            index = index.to(anchors.device, non_blocking=True)
        return anchors[index].float()

    # ------------------------------------------------------------ cascade
    def forward(self, x: Tensor, proposals: Tensor) -> List[Dict[str, Tensor]]:
        """``x [B, C, T]`` (neck output), ``proposals [B, N, 2]`` -> one dict per
        stage; stage ``i + 1`` reads stage ``i``'s refinements, detached."""
        return self.forward_stages([s.stage_features(x) for s in self.stages], proposals)

    def forward_stages(self, feats: List[Tensor], proposals: Tensor,
                       counts: Optional[List[int]] = None,
                       scoring_only: bool = False) -> List[Dict[str, Tensor]]:
        """Like :meth:`forward` with each stage's :meth:`stage_features` given
        (computed once when proposals run in chunks). ``counts``: packed proposals of
        several videos in one row, no padding: ``proposals [1, M, 2]`` (each in its
        video's snippet units) hold ``counts[0]`` of video 0, then ``counts[1]`` of
        video 1, ...; equal to the per-video cascade up to float rounding (see
        :meth:`ProposalEvaluationHead.forward`). ``scoring_only``: without the
        start/end classifier's outputs (only the loss reads them)."""
        outputs = []
        for stage, x in zip(self.stages, feats):
            out = stage(x, proposals, self.roi_extractor(proposals, x.shape[2]), counts,
                        scoring_only=scoring_only)
            out['proposals'] = proposals
            outputs.append(out)
            proposals = out['refined'].detach()
        return outputs

    # ------------------------------------------------------------ training
    def loss_inputs(self, x: Tensor, gts: Tuple[Tensor, Tensor], boundary_targets: Tensor,
                    boundary_radius: float, keys: Tensor) -> dict:
        """Sample proposals, run the cascade and build every stage's targets and
        loss masks at once (``[S, B, N]`` stacks, stage-major).

        ``gts``: ``(padded [B, G, 2], valid [B, G])``; ``boundary_targets``:
        the snippet start/end targets ``[B, 2, T]``; ``keys [B, 2]``: each
        video's sampling keys of the streams ``'dps'`` (proposals) and ``'neg'``
        (negatives). Returns ``outputs`` (list of stage dicts), ``targets``
        (``iou``, ``offsets``, ``start_cls``, ``end_cls``) and ``masks`` for
        :class:`ETADLoss`.
        """
        cfg = self.train_cfg
        proposals = self.sample_proposals(x, keys[:, 0], self.proposal_sampler, gts)
        outputs = self(x, proposals)
        s, (b, n) = len(outputs), proposals.shape[:2]
        stacked = torch.cat([out['proposals'] for out in outputs])           # [S*B, N, 2]
        padded, valid = gts
        targets = {}
        if cfg['gt_assignment'] == 'per_stage' or cfg['boundary_labels'] == 'radius':
            tgt = proposal_targets(stacked, (padded.repeat(s, 1, 1), valid.repeat(s, 1)),
                                   boundary_radius)
            targets = {k: v.view(s, b, *v.shape[1:]) for k, v in tgt.items()}
        if cfg['gt_assignment'] == 'initial':
            ious = pairwise_tiou(proposals, padded.to(proposals)).masked_fill(
                ~valid[:, None, :], -1.0)
            arg = ious.argmax(dim=2, keepdim=True).expand(-1, -1, 2)
            matched = torch.gather(padded.to(proposals), 1, arg)             # [B, N, 2]
            m = matched_targets(stacked.view(s, b, n, 2), matched.unsqueeze(0),
                                self.num_snippets, valid.any(dim=1))
            targets.update(m)
        if cfg['boundary_labels'] == 'snippet':
            idx = stacked.view(s, b, n, 2).long().clamp(0, self.num_snippets - 1)
            bt = boundary_targets.unsqueeze(0).expand(s, -1, -1, -1)         # [S, B, 2, T]
            targets['start_cls'] = torch.gather(bt[:, :, 0], 2, idx[..., 0])
            targets['end_cls'] = torch.gather(bt[:, :, 1], 2, idx[..., 1])
        iou = targets['iou']
        # per-stage thresholds as Python floats: no host-to-device copy, nothing on
        # the CPU inside a compiled (CUDA-graphed) step
        masks = dict(reg_pos=torch.stack([iou[i] > t for i, t in
                                          enumerate(cfg['stage_pos_iou_thrs'])]))
        cls_pos = iou > cfg['iou_cls_pos_thr']
        if cfg['negatives'] == 'per_video':
            masks['iou_cls_pos'] = cls_pos
            masks['iou_cls_neg'] = self.sample_negatives(cls_pos, keys[:, 1])
            lo, hi = cfg['iou_reg_bins']
            masks['iou_reg_bins'] = (iou <= lo, (iou > lo) & (iou <= hi), iou > hi)
        else:
            u = self.uniforms(keys[:, 1], s, n)
            masks.update(released_code_masks(targets, u, cfg['iou_cls_pos_thr'],
                                              cfg['iou_reg_bins']))
        return dict(outputs=outputs, targets=targets, masks=masks)

    @staticmethod
    def uniforms(keys: Tensor, num_stages: int, n: int) -> Tensor:
        """Five uniform draws per proposal, stage and video from each video's key
        -> ``[5, S, B, N]`` (IoU classifier, IoU middle, IoU low, start, end);
        draw ``(d, stage, j)`` is counter ``(d * S + stage) * N + j`` of the
        video's stream ``'neg'``: it does not depend on how the batch is split."""
        counters = torch.arange(5 * num_stages * n, device=keys.device)
        u = hashed_uniforms(keys.view(-1, 1), counters.view(1, -1))       # [B, 5*S*N]
        return u.view(-1, 5, num_stages, n).permute(1, 2, 0, 3)

    @staticmethod
    def sample_negatives(pos: Tensor, keys: Tensor) -> Tensor:
        """Per video, as many random negatives as positives (A.3). ``pos [S, B, N]``,
        ``keys [B]`` (stream ``'neg'``).

        Each proposal and stage of a video gets a random key, ``counter_hash(key,
        stage * N + j)``; the video's ``k`` negatives with the smallest keys are
        taken, ``k = min(#positives, #negatives)``. Batched on the device, without
        host synchronisation.
        """
        s, n = pos.shape[0], pos.shape[-1]
        counters = torch.arange(s * n, device=pos.device)
        bits = counter_hash(keys.to(pos.device).view(-1, 1), counters.view(1, -1))
        bits = bits.view(-1, s, n).transpose(0, 1).masked_fill(pos, 2**33)  # negatives first
        rank = bits.argsort(dim=-1).argsort(dim=-1)
        k = torch.minimum(pos.sum(dim=-1), (~pos).sum(dim=-1)).unsqueeze(-1)
        return (~pos) & (rank < k)

    # ------------------------------------------------------------ inference
    def predict(self, x: Tensor, boundary: Tensor, anchors: Tensor) -> Dict[str, Tensor]:
        """Score ``anchors [B, n, 2]`` (all proposals or a test sampler's).

        Returns ``segments [B, n, 2]`` (the average of the stages' refinements),
        ``scores [B, n]`` (``test_cfg.score``; 0 where not selected), ``valid
        [B, n]`` (boundary selection, ``test_cfg.boundary_lookup``).

        With the anchor lookup, selection depends only on the boundary head, so by
        default (``selected_only``) only selected proposals run through the
        cascade, those of all videos in one row without padding
        (:meth:`forward_stages` with ``counts``); the others get score 0. Proposals run in
        chunks of ``proposal_chunk`` (exact: proposals are independent).
        """
        cfg = self.test_cfg
        b, n = anchors.shape[:2]
        t = self.num_snippets
        ratio = cfg['peak_ratio']
        edges = cfg['edge_peaks']
        s_ok = boundary_selection_mask(boundary[:, 0], ratio, keep_first=True, edge_peaks=edges)
        e_ok = boundary_selection_mask(boundary[:, 1], ratio, keep_last=True, edge_peaks=edges)
        anchor_lookup = cfg['boundary_lookup'] == 'anchor'
        if anchor_lookup:
            s_idx, e_idx = anchors[..., 0].long(), anchors[..., 1].long() - 1
            valid = torch.gather(s_ok, 1, s_idx) & torch.gather(e_ok, 1, e_idx)
        packed = anchor_lookup and cfg['selected_only']
        feats = [stage.stage_features(x) for stage in self.stages]
        if packed:
            # the selected proposals of all videos in one row, video after video, no
            # padding (one host synchronisation for their numbers)
            video, pos = valid.nonzero(as_tuple=True)
            run = anchors[video, pos].unsqueeze(0)                        # [1, M, 2]
            per_video = valid.sum(dim=1).tolist()
            starts = [sum(per_video[:i]) for i in range(b + 1)]
        else:
            run = anchors
        # proposal_chunk bounds the proposals per video (packed: per row of b videos)
        chunk = int(cfg.get('proposal_chunk') or max(run.shape[1], 1)) * (b if packed else 1)
        segs, p_iou = [], []
        for lo in range(0, run.shape[1], chunk):
            hi = min(lo + chunk, run.shape[1])
            counts = [max(0, min(hi, starts[i + 1]) - max(lo, starts[i]))
                      for i in range(b)] if packed else None
            outs = self.forward_stages(feats, run[:, lo:hi], counts, scoring_only=True)
            segs.append(torch.stack([o['refined'] for o in outs]).mean(0))
            cls = torch.stack([o['iou_cls'] for o in outs])
            reg = torch.stack([o['iou_reg'] for o in outs])
            p_iou.append((cls * reg).mean(0) if cfg['score'] == 'paper'
                         else cls.mean(0) * reg.mean(0))
        if packed:
            # back to map order; proposals not selected keep their anchor and score 0
            segments, iou = anchors.clone(), anchors.new_zeros(b, n)
            if segs:
                segments[video, pos] = torch.cat(segs, dim=1)[0].to(anchors.dtype)
                iou[video, pos] = torch.cat(p_iou, dim=1)[0].to(anchors.dtype)
        else:
            segments, iou = torch.cat(segs, dim=1), torch.cat(p_iou, dim=1)
        if not anchor_lookup:
            s_idx = segments[..., 0].long().clamp(0, t - 1)
            e_idx = segments[..., 1].long().clamp(0, t - 1)
            valid = torch.gather(s_ok, 1, s_idx) & torch.gather(e_ok, 1, e_idx)
        if cfg['score'] == 'paper':
            iou = torch.gather(boundary[:, 0], 1, s_idx) * torch.gather(
                boundary[:, 1], 1, e_idx) * iou
        return dict(segments=segments, scores=iou * valid, valid=valid)


def released_code_masks(targets: Dict[str, Tensor], uniforms: Tensor,
                        iou_cls_pos_thr: float = 0.9, iou_reg_bins=(0.3, 0.7)
                        ) -> Dict[str, Tensor]:
    """The authors' loss masks from fixed uniforms ``[5, S, B, N]`` (IoU classifier,
    IoU middle, IoU low, start, end): see :func:`ratio_sampled` and
    :func:`ratio_sampled_iou_reg`. The start/end labels are positive above 0.5."""
    iou = targets['iou']
    u = uniforms.to(iou.dtype)
    cls_pos, cls_neg = ratio_sampled(iou > iou_cls_pos_thr, u[0])
    s_pos, s_neg = ratio_sampled(targets['start_cls'] > 0.5, u[3])
    e_pos, e_neg = ratio_sampled(targets['end_cls'] > 0.5, u[4])
    return dict(iou_cls_pos=cls_pos, iou_cls_neg=cls_neg,
                iou_reg_weight=ratio_sampled_iou_reg(iou, u[1], u[2], iou_reg_bins),
                start_pos=s_pos, start_neg=s_neg, end_pos=e_pos, end_neg=e_neg)
