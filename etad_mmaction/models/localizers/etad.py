"""The ETAD localizer (Section 3, Appendix A-C) with Detector Proposal Sampling."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS, TASK_UTILS
from ..samplers.seeding import sampling_generator
from ..utils import (boundary_selection_mask, pad_segments, proposal_targets,
                     select_and_suppress, snippet_boundary_targets, valid_proposals)
from etad_mmaction.structures import pairwise_tiou


@MODELS.register_module()
class ETAD(BaseModel):
    """Efficient Temporal Action Detector on snippet features ``[B, C, T]``.

    Pipeline: LSTM feature enhancement (``neck``) -> boundary evaluation
    (``boundary_head``) -> dense proposal map of all ``(start, end)`` with
    ``end - start <= max_duration`` -> Detector Proposal Sampling (``sampler``,
    training; ``test_sampler`` optional at inference, App. C.3) -> RoI alignment
    and the cascade of proposal evaluation stages (``proposal_head``).

    Modes: ``loss`` returns the Eq. 1 losses; ``predict`` returns data samples
    with ``pred_instances`` (``segments`` in seconds, ``scores``; class-agnostic);
    ``tensor`` returns the raw outputs.

    Args:
        num_snippets (int): temporal length T the model is built for.
        max_duration (int): maximum proposal length D in snippets (default T).
        neck, boundary_head, proposal_head, loss (dict): registered parts.
        sampler (dict): DPS sampler config (``TASK_UTILS``), e.g.
            ``dict(type='RandomSampler', ratio=0.06)``.
        test_sampler (dict, optional): sampler at inference (default: all proposals).
        train_cfg (dict): ``boundary_radius`` (snippets, default 1.5) and
            ``seed`` (sampling seed when no hook sets it).
        test_cfg (dict): ``nms`` (see ``select_and_suppress``), ``peak_ratio``,
            ``proposal_chunk`` (proposals per forward chunk).
    """

    def __init__(self, num_snippets: int = 128, max_duration: Optional[int] = None,
                 neck: dict = dict(type='LSTMFeatureEnhancement'),
                 boundary_head: dict = dict(type='BoundaryHead'),
                 proposal_head: dict = dict(type='CascadeProposalHead'),
                 loss: dict = dict(type='ETADLoss'),
                 sampler: Optional[dict] = dict(type='RandomSampler', ratio=0.06),
                 test_sampler: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not isinstance(num_snippets, int) or num_snippets < 2:
            raise ValueError(f'model.num_snippets must be an int >= 2, got {num_snippets!r}')
        max_duration = num_snippets if max_duration is None else max_duration
        if not isinstance(max_duration, int) or not 1 <= max_duration <= num_snippets:
            raise ValueError(f'model.max_duration must be in [1, num_snippets={num_snippets}], '
                             f'got {max_duration!r}')
        self.num_snippets = num_snippets
        self.max_duration = max_duration
        self.neck = MODELS.build(neck)
        self.boundary_head = MODELS.build(boundary_head)
        self.proposal_head = MODELS.build(proposal_head)
        self.loss_module = MODELS.build(loss)
        self.sampler = self._build_sampler(sampler, 'model.sampler')
        self.test_sampler = self._build_sampler(test_sampler, 'model.test_sampler')
        self.train_cfg = dict(boundary_radius=1.5, seed=0)
        self.train_cfg.update(train_cfg or {})
        self.test_cfg = dict(nms=dict(type='soft_nms', alpha=0.4, low_threshold=0.5,
                                      high_threshold=0.9, top_k=100),
                             peak_ratio=0.5, proposal_chunk=4096)
        self.test_cfg.update(test_cfg or {})
        # set by ETADSamplingHook each epoch; seed/epoch/video index seed every draw
        self.sampling_seed = int(self.train_cfg['seed'])
        self.sampling_epoch = 0
        self.register_buffer('anchors', valid_proposals(num_snippets, max_duration),
                             persistent=False)                   # [n, 2] long

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

    def set_sampling_state(self, seed: Optional[int] = None, epoch: Optional[int] = None):
        """Called by ``ETADSamplingHook``: the run seed and the current epoch."""
        if seed is not None:
            self.sampling_seed = int(seed)
        if epoch is not None:
            self.sampling_epoch = int(epoch)

    # ------------------------------------------------------------------ helpers
    def _stack_inputs(self, inputs, data_samples) -> Tensor:
        feats = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
        if feats.dim() != 3 or feats.shape[-1] != self.num_snippets:
            names = [ds.metainfo.get('video_name', '?') for ds in (data_samples or [])][:4]
            raise ValueError(f'ETAD expects features [B, C, T={self.num_snippets}] '
                             f'(model.num_snippets) but got {tuple(feats.shape)} for videos {names}')
        return feats.float() if not feats.is_floating_point() else feats

    def extract_feat(self, feats: Tensor):
        x = self.neck(feats)                        # [B, 256, T]
        return x, self.boundary_head(x)             # [B, 2, T]

    def _generator(self, data_sample, stream: str) -> torch.Generator:
        idx = data_sample.metainfo.get('sample_idx', 0)
        return sampling_generator(self.sampling_seed, self.sampling_epoch, idx, stream)

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

    def sample_proposals(self, x: Tensor, data_samples, sampler, gts=None) -> Tensor:
        """Pick ``k`` proposals of the map per video -> ``[B, k, 2]`` float."""
        anchors = self.anchors
        n = anchors.shape[0]
        if sampler is None:
            return anchors.float().unsqueeze(0).expand(x.shape[0], -1, -1)
        picked = []
        req = getattr(sampler, 'requires', ())
        for i, ds in enumerate(data_samples):
            kw = dict(coords=anchors)
            if 'features' in req:
                kw['features'] = self._kernel_features(x[i])
            if 'ious' in req or 'scales' in req:
                af = anchors.float()
                gt = gts[i] if gts is not None else ds.gt_instances.segments
                kw['ious'] = (pairwise_tiou(af, gt.to(af)).max(dim=1).values
                              if gt.numel() else af.new_zeros(n))
                kw['scales'] = (af[:, 1] - af[:, 0]) / self.num_snippets
            picked.append(sampler(n, generator=self._generator(ds, 'dps'), **kw).view(1, -1))
        # one transfer and one gather for the batch (every video gets the same k);
        # non-blocking: a blocking host-to-device copy waits for the queued kernels
        index = torch.cat([i.to(picked[0].device) for i in picked])
        index = index.to(anchors.device, non_blocking=True)
        return anchors[index].float()

    # ------------------------------------------------------------------ modes
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode')

    def loss(self, inputs, data_samples) -> Dict[str, Tensor]:
        feats = self._stack_inputs(inputs, data_samples)
        x, bd = self.extract_feat(feats)
        gts = [ds.gt_instances.segments.to(feats.device, non_blocking=True).float()
               for ds in data_samples]
        padded = pad_segments(gts, feats)
        bd_targets = snippet_boundary_targets(padded, self.num_snippets,
                                              self.train_cfg['boundary_radius'])
        proposals = self.sample_proposals(x, data_samples, self.sampler, gts)
        outputs = self.proposal_head(x, proposals)
        # every stage's targets and negatives at once: [S * B, N] (stage-major)
        s, (b, n) = len(outputs), proposals.shape[:2]
        stacked = torch.cat([out['proposals'] for out in outputs])
        tgt = proposal_targets(stacked, (padded[0].repeat(s, 1, 1), padded[1].repeat(s, 1)),
                               self.train_cfg['boundary_radius'])
        negs = self._sample_negatives(tgt['iou'].view(s, b, n), data_samples)
        targets = {k: v.view(s, b, *v.shape[1:]) for k, v in tgt.items()}
        return self.loss_module(bd, bd_targets, outputs, targets, negs,
                                self.proposal_head.pos_iou_thresholds)

    def _sample_negatives(self, gt_iou: Tensor, data_samples, stage: int = 0) -> Tensor:
        """Per video, as many random negatives (IoU <= threshold) as positives (A.3).

        ``gt_iou`` is ``[B, N]`` for one stage (``stage``) or ``[S, B, N]`` for
        stages ``0 .. S-1``. Each video draws one uniform key per proposal from its
        own generator (seeded by run seed, epoch, video index and stage); its ``k``
        negatives with the smallest keys are taken, ``k = min(#positives,
        #negatives)``. Batched on the device, without host synchronisation.
        """
        thr = self.loss_module.iou_cls_pos_threshold
        stages = range(gt_iou.shape[0]) if gt_iou.dim() == 3 else [stage]
        pos = gt_iou > thr                                                # [(S,) B, N]
        n = gt_iou.shape[-1]
        keys = torch.stack([torch.rand(n, generator=self._generator(ds, f'neg{st}'))
                            for st in stages for ds in data_samples])
        keys = keys.view(pos.shape).to(gt_iou.device, non_blocking=True)
        keys = keys.masked_fill(pos, 2.0)                                 # negatives first
        rank = keys.argsort(dim=-1).argsort(dim=-1)
        k = torch.minimum(pos.sum(dim=-1), (~pos).sum(dim=-1)).unsqueeze(-1)
        return (~pos) & (rank < k)

    @torch.no_grad()
    def predict(self, inputs, data_samples) -> list:
        raw = self._forward(inputs, data_samples)
        t = self.num_snippets
        detections = select_and_suppress(raw['segments'], raw['scores'], raw['valid'], t,
                                         self.test_cfg['nms'])
        for ds, (seg, score) in zip(data_samples, detections):
            meta = ds.metainfo
            sps = float(meta.get('snippet_seconds', 1.0))
            start = float(meta.get('window_start', 0.0))
            seconds = seg * sps + start
            if 'duration' in meta:
                seconds = seconds.clamp(0, float(meta['duration']))
            pred = InstanceData()
            pred.segments = seconds.cpu()
            pred.scores = score.cpu()
            ds.pred_instances = pred
        return data_samples

    def _forward(self, inputs, data_samples=None) -> Dict[str, Tensor]:
        """Inference over all proposals (or ``test_sampler``'s).

        Boundary selection (B.2) depends only on the boundary head, so by default
        (``test_cfg.selected_only``) the cascade evaluates only the proposals that
        pass it; the others get score 0 and ``valid`` False, so the output equals
        evaluating everything. Proposals run in chunks of
        ``test_cfg.proposal_chunk`` (exact: proposals are independent).

        Returns ``boundary [B, 2, T]``, ``segments [B, n, 2]`` (the average of the
        stages' refinements, snippet units), ``scores [B, n]`` (``p_s p_e p_iou``),
        ``valid [B, n]`` (boundary selection), ``anchors [B, n, 2]``.
        """
        feats = self._stack_inputs(inputs, data_samples)
        x, bd = self.extract_feat(feats)
        if self.test_sampler is not None and data_samples is not None:
            anchors = self.sample_proposals(x, data_samples, self.test_sampler)
        else:
            anchors = self.anchors.float().unsqueeze(0).expand(x.shape[0], -1, -1)
        b, n = anchors.shape[:2]
        s_idx = anchors[..., 0].long()
        e_idx = anchors[..., 1].long() - 1
        ratio = self.test_cfg['peak_ratio']
        s_ok = boundary_selection_mask(bd[:, 0], ratio, keep_first=True)
        e_ok = boundary_selection_mask(bd[:, 1], ratio, keep_last=True)
        valid = torch.gather(s_ok, 1, s_idx) & torch.gather(e_ok, 1, e_idx)

        if self.test_cfg.get('selected_only', True):
            # per video the selected proposals, padded to the batch maximum
            counts = valid.sum(dim=1)
            m = max(int(counts.max()), 1)
            order = torch.sort((~valid).to(torch.uint8), dim=1, stable=True).indices[:, :m]
            run = torch.gather(anchors, 1, order.unsqueeze(-1).expand(-1, -1, 2))
        else:
            order, run = None, anchors
        reduced = self.proposal_head.reduce_features(x)
        chunk = int(self.test_cfg.get('proposal_chunk') or run.shape[1])
        segs, p_iou = [], []
        for lo in range(0, run.shape[1], chunk):
            outs = self.proposal_head.forward_reduced(reduced, run[:, lo:lo + chunk])
            segs.append(torch.stack([o['refined'] for o in outs]).mean(0))
            p_iou.append(torch.stack([o['iou_cls'] * o['iou_reg'] for o in outs]).mean(0))
        run_segs = torch.cat(segs, dim=1)
        run_iou = torch.cat(p_iou, dim=1)
        if order is not None:
            segments = anchors.clone()
            iou = anchors.new_zeros(b, n)
            keep = torch.gather(valid, 1, order)        # padding rows are not scattered
            for i in range(b):
                segments[i, order[i][keep[i]]] = run_segs[i][keep[i]]
                iou[i, order[i][keep[i]]] = run_iou[i][keep[i]]
        else:
            segments, iou = run_segs, run_iou
        p_s = torch.gather(bd[:, 0], 1, s_idx)
        p_e = torch.gather(bd[:, 1], 1, e_idx)
        scores = p_s * p_e * iou * valid
        return dict(boundary=bd, segments=segments, scores=scores, valid=valid, anchors=anchors)
