"""The ETAD localizer (Section 3, Appendix A-C) with Detector Proposal Sampling."""
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from torch import Tensor

from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList
from .base import BaseTADLocalizer
from ..roi_heads.etad_roi_head import DEFAULT_PROPOSAL_SAMPLER
from ..samplers.seeding import sampling_generator, sampling_seed
from ..utils import pad_segments, select_and_suppress, snippet_boundary_targets, to_video_time

_UNSET = object()
# old ``proposal_head`` (CascadeProposalHead) keys -> (part of the RoI head, new key)
_LEGACY_HEAD_KEYS = dict(
    num_stages=(None, 'num_stages'), pos_iou_thresholds=('train_cfg', 'stage_pos_iou_thrs'),
    in_channels=('stage_head', 'in_channels'), roi_channels=('stage_head', 'roi_channels'),
    hidden_dims=('stage_head', 'hidden_dims'), num_groups=('stage_head', 'num_groups'),
    fused_roi=('stage_head', 'fused_roi'),
    roi_group_elements=('stage_head', 'roi_group_elements'),
    boundary_bins=('roi_extractor', 'boundary_bins'),
    extended_bins=('roi_extractor', 'extended_bins'),
    samples_per_bin=('roi_extractor', 'samples_per_bin'),
    context_ratio=('roi_extractor', 'context_ratio'))
_LEGACY_TEST_KEYS = ('peak_ratio', 'proposal_chunk', 'selected_only')


_NMS_KEYS = dict(soft_nms={'alpha', 'low_threshold', 'high_threshold', 'top_k',
                           'relative_to_duration', 'duration'},
                 gaussian_soft_nms={'sigma', 'iou_threshold', 'top_k', 'keep_last'},
                 nms={'iou_threshold', 'top_k'})


def _check_cfgs(train_cfg: dict, test_cfg: dict) -> None:
    """Unknown keys of ``model.train_cfg`` / ``model.test_cfg`` (settings of the
    proposal stage live in ``model.roi_head``) and NMS keys of another type fail
    here, not at the first validation."""
    for name, cfg, known in (('train_cfg', train_cfg, {'boundary_radius', 'seed'}),
                             ('test_cfg', test_cfg, {'nms'})):
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise KeyError(f'model.{name} has unknown keys {unknown} (expected '
                           f'{sorted(known)}); settings of the proposal stage go to '
                           f'model.roi_head.{name}, e.g. model.roi_head.{name}.{unknown[0]}')
    nms = dict(test_cfg['nms'])
    kind = nms.pop('type', 'soft_nms')
    if kind not in _NMS_KEYS:
        raise ValueError(f'model.test_cfg.nms.type must be one of {sorted(_NMS_KEYS)}, '
                         f'got {kind!r}')
    extra = sorted(set(nms) - _NMS_KEYS[kind] - {'pre_top_k', 'clip_to_video'})
    if extra:
        raise KeyError(f'model.test_cfg.nms: {extra} are not options of {kind!r} (a config '
                       f'that changes nms.type may need nms=dict(_delete_=True, ...))')


def resolved_test_cfg(test_cfg: Optional[dict] = None) -> dict:
    """``model.test_cfg`` over the defaults (Soft-NMS of BMN, top 100 of the
    2000 best candidates), checked; also used by ``tools/analysis/post_process.py``."""
    out = dict(nms=dict(type='soft_nms', alpha=0.4, low_threshold=0.5, high_threshold=0.9,
                        top_k=100, pre_top_k=2000))
    out.update(test_cfg or {})
    _check_cfgs({}, out)
    return out


def _roi_head_from_legacy(roi_head: dict, proposal_head, sampler, test_sampler,
                          test_cfg: dict) -> dict:
    """Translate the pre-RoI-head keys (``model.proposal_head``, ``model.sampler``,
    ``model.test_sampler``, ``model.test_cfg.peak_ratio`` ...) into ``model.roi_head``,
    with one warning naming the new keys."""
    roi_head = dict(roi_head)
    moved = []
    if proposal_head is not None:
        cfg = dict(proposal_head)
        kind = cfg.pop('type', 'CascadeProposalHead')
        if kind != 'CascadeProposalHead':
            raise KeyError(f'model.proposal_head.type={kind!r}: the proposal stage is now '
                           'model.roi_head (type ETADRoIHead)')
        for key, value in cfg.items():
            if key not in _LEGACY_HEAD_KEYS:
                raise KeyError(f'model.proposal_head.{key} has no place in model.roi_head')
            part, new = _LEGACY_HEAD_KEYS[key]
            if part is None:
                roi_head[new] = value
            else:
                roi_head[part] = dict(roi_head.get(part) or {}, **{new: value})
            moved.append(f'proposal_head.{key} -> roi_head.{part + "." if part else ""}{new}')
    for old, new, value in (('sampler', 'proposal_sampler', sampler),
                            ('test_sampler', 'test_proposal_sampler', test_sampler)):
        if value is _UNSET:
            continue
        base = roi_head.get(new, DEFAULT_PROPOSAL_SAMPLER if old == 'sampler' else None)
        roi_head[new] = (dict(base or {}, **value) if isinstance(value, dict)
                         and isinstance(base, dict) else value)
        moved.append(f'{old} -> roi_head.{new}')
    for key in _LEGACY_TEST_KEYS:
        if key in test_cfg:
            roi_head['test_cfg'] = dict(roi_head.get('test_cfg') or {}, **{key: test_cfg.pop(key)})
            moved.append(f'test_cfg.{key} -> roi_head.test_cfg.{key}')
    if moved:
        print_log('ETAD: old config keys translated (model.' + ', model.'.join(moved) + ')',
                  logger='current', level=30)
    return roi_head


@MODELS.register_module()
class ETAD(BaseTADLocalizer):
    """Efficient Temporal Action Detector on snippet features ``[B, C, T]``.

    Pipeline: LSTM feature enhancement (``neck``) -> boundary evaluation
    (``boundary_head``) -> the proposal stage (``roi_head``: Detector Proposal
    Sampling on the dense map of all ``(start, end)`` with
    ``end - start <= max_duration``, RoI alignment and the cascade of proposal
    evaluation heads, their targets and loss masks).

    Modes: ``loss`` returns the Eq. 1 losses; ``predict`` returns data samples
    with ``pred_instances`` (``segments`` in seconds, ``scores``; class-agnostic);
    ``tensor`` returns the raw outputs.

    Args:
        num_snippets (int): temporal length T the model is built for.
        max_duration (int): maximum proposal length D in snippets (default T).
        neck, boundary_head, roi_head, loss (dict): registered parts
            (:class:`ETADRoIHead` gets ``num_snippets`` and ``max_duration``).
        train_cfg (dict): ``boundary_radius`` (snippets, default 1.5: the
            boundary targets) and ``seed`` (sampling seed when no hook sets it).
        test_cfg (dict): ``nms`` (see ``select_and_suppress``).
        proposal_head, sampler, test_sampler: old keys, translated into
            ``roi_head`` with a warning.
    """

    def __init__(self, num_snippets: int = 128, max_duration: Optional[int] = None,
                 neck: dict = dict(type='LSTMFeatureEnhancement'),
                 boundary_head: dict = dict(type='BoundaryHead'),
                 roi_head: dict = dict(type='ETADRoIHead'),
                 loss: dict = dict(type='ETADLoss'),
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None,
                 proposal_head: Optional[dict] = None, sampler=_UNSET, test_sampler=_UNSET):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not isinstance(num_snippets, int) or num_snippets < 2:
            raise ValueError(f'model.num_snippets must be an int >= 2, got {num_snippets!r}')
        max_duration = num_snippets if max_duration is None else max_duration
        if not isinstance(max_duration, int) or not 1 <= max_duration <= num_snippets:
            raise ValueError(f'model.max_duration must be in [1, num_snippets={num_snippets}], '
                             f'got {max_duration!r}')
        for key, cfg in (('neck', neck), ('boundary_head', boundary_head),
                         ('roi_head', roi_head), ('loss', loss)):
            if not isinstance(cfg, dict):
                raise TypeError(f'model.{key} must be a config dict, got {cfg!r}')
        self.num_snippets = num_snippets
        self.max_duration = max_duration
        self.train_cfg = dict(boundary_radius=1.5, seed=0)
        self.train_cfg.update(train_cfg or {})
        test_cfg = dict(test_cfg or {})
        roi_head = _roi_head_from_legacy(roi_head, proposal_head, sampler, test_sampler,
                                         test_cfg)
        self.test_cfg = resolved_test_cfg(test_cfg)
        _check_cfgs(self.train_cfg, self.test_cfg)
        self.neck = MODELS.build(neck)
        self.boundary_head = MODELS.build(boundary_head)
        self.roi_head = MODELS.build(dict(roi_head, num_snippets=num_snippets,
                                          max_duration=max_duration))
        self.loss_module = MODELS.build(loss)
        width = getattr(self.neck, 'out_channels', None)
        for key, part in (('boundary_head', self.boundary_head), ('roi_head', self.roi_head)):
            want = getattr(part, 'in_channels', None)
            if width is not None and want is not None and want != width:
                raise ValueError(f'model.{key} reads {want} channels but model.neck.out_channels '
                                 f'is {width}: set model.{key}'
                                 f'{".stage_head" if key == "roi_head" else ""}.in_channels '
                                 f'= {width}')
        # set by ETADSamplingHook each epoch; seed/epoch/video index seed every draw
        self.sampling_seed = int(self.train_cfg['seed'])
        self.sampling_epoch = 0
        self._compiled_loss = None
        # predict() also keeps the scored proposals before NMS (``raw_proposals``)
        self.keep_raw_proposals = False

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Checkpoints of earlier releases kept the cascade under ``proposal_head.``;
        its parameters have the same names under ``roi_head.`` now."""
        old = f'{prefix}proposal_head.'
        renamed = [k for k in list(state_dict) if k.startswith(old)]
        for key in renamed:
            state_dict[f'{prefix}roi_head.{key[len(old):]}'] = state_dict.pop(key)
        if renamed:
            print_log(f'ETAD: {len(renamed)} parameters of an earlier release renamed '
                      '(proposal_head. -> roi_head.)', logger='current', level=30)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    def set_sampling_state(self, seed: Optional[int] = None, epoch: Optional[int] = None):
        """Called by ``ETADSamplingHook``: the run seed and the current epoch."""
        if seed is not None:
            self.sampling_seed = int(seed)
        if epoch is not None:
            self.sampling_epoch = int(epoch)

    def generator(self, data_sample, stream: str) -> torch.Generator:
        """The generator of one video's draws of ``stream`` this epoch (a function
        of run seed, epoch, video index and stream only)."""
        idx = data_sample.metainfo.get('sample_idx', 0)
        return sampling_generator(self.sampling_seed, self.sampling_epoch, idx, stream)

    def sampling_keys(self, data_samples, streams=('dps', 'neg'), device=None) -> Tensor:
        """Each video's sampling keys of ``streams`` this epoch -> ``[B, len(streams)]``
        int64 on ``device`` (computed on the host, sent without waiting)."""
        keys = torch.tensor([[sampling_seed(self.sampling_seed, self.sampling_epoch,
                                            ds.metainfo.get('sample_idx', 0), stream)
                              for stream in streams] for ds in data_samples],
                            dtype=torch.long).view(-1, len(streams))
        return keys if device is None else keys.to(device, non_blocking=True)

    # ------------------------------------------------------------------ helpers
    def _stack_inputs(self, inputs, data_samples) -> Tensor:
        feats = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
        if feats.dim() != 3 or feats.shape[-1] != self.num_snippets:
            names = [ds.metainfo.get('video_name', '?') for ds in (data_samples or [])][:4]
            raise ValueError(f'ETAD expects features [B, C, T={self.num_snippets}] '
                             f'(model.num_snippets) but got {tuple(feats.shape)} for videos '
                             f'{names}')
        return feats.float() if not feats.is_floating_point() else feats

    def extract_feat(self, feats: Tensor):
        x = self.neck(feats)                        # [B, 256, T]
        return x, self.boundary_head(x)             # [B, 2, T]

    # ------------------------------------------------------------------ modes
    def loss(self, inputs, data_samples: SampleList) -> Dict[str, Tensor]:
        """Eq. 1 losses. The host work (stacking, padding the ground truth, the
        videos' sampling keys) happens here; :meth:`loss_tensors` is the tensor
        program (compiled as one graph by :meth:`compile_loss`)."""
        feats = self._stack_inputs(inputs, data_samples)
        padded, valid = self._padded_gts(data_samples, feats)
        keys = self.sampling_keys(data_samples, device=feats.device)
        core = self._compiled_loss if self._compiled_loss is not None else self.loss_tensors
        return core(feats, padded, valid, keys)

    @staticmethod
    def _padded_gts(data_samples, feats: Tensor):
        """The batch's ground truth padded to a power-of-two count (few distinct
        shapes: a compiled step is rebuilt for a handful of counts, not each)."""
        gts = [ds.gt_instances.segments.float() for ds in data_samples]
        return pad_segments(gts, feats, bucket=True)

    def loss_tensors(self, feats: Tensor, gt_segments: Tensor, gt_valid: Tensor,
                     keys: Tensor) -> Dict[str, Tensor]:
        """The training forward and losses as tensors only: ``feats [B, C, T]``,
        ``gt_segments [B, G, 2]`` (snippets) with ``gt_valid [B, G]``, ``keys
        [B, 2]`` (streams ``'dps'``, ``'neg'``; see :meth:`sampling_keys`)."""
        x, bd = self.extract_feat(feats)
        radius = self.train_cfg['boundary_radius']
        gts = (gt_segments, gt_valid)
        bd_targets = snippet_boundary_targets(gts, self.num_snippets, radius)
        res = self.roi_head.loss_inputs(x, gts, bd_targets, radius, keys)
        return self.loss_module(bd, bd_targets, res['outputs'], res['targets'], res['masks'])

    def compile_loss(self, **compile_kwargs) -> None:
        """Compile :meth:`loss_tensors` with ``torch.compile`` (``fullgraph=True``
        unless the RoI head needs the host: one graph, CUDA-graph ready with
        ``mode='reduce-overhead'``). FPS/DPP sampling and the ``'roi_align'``
        extractor convention (one host read per stage) split the step into a few
        graphs (``fullgraph=False``, said in the log)."""
        host_work = self.roi_head.host_work()
        kwargs = dict(fullgraph=not host_work, dynamic=False)
        kwargs.update(compile_kwargs)
        torch._dynamo.config.allow_rnn = True      # the LSTM neck, traced as one graph
        self._compiled_loss = torch.compile(self.loss_tensors, **kwargs)
        print_log(f'ETAD: loss_tensors compiled ({kwargs}); the first steps of each '
                  'batch shape compile' + (f'; not one graph: {host_work}' if host_work else ''),
                  logger='current', level=30 if host_work else 20)

    @torch.no_grad()
    def predict(self, inputs, data_samples: SampleList) -> SampleList:
        raw = self.forward_tensor(inputs, data_samples)
        t = self.num_snippets
        if self.keep_raw_proposals:                 # ETADRawDumpHook (tools/test.py --dump-raw)
            for ds, seg, score, ok in zip(data_samples, raw['segments'], raw['scores'],
                                          raw['valid']):
                ds.raw_proposals = InstanceData(segments=seg[ok].cpu(), scores=score[ok].cpu(),
                                                metainfo=dict(num_snippets=t))
        detections = select_and_suppress(raw['segments'], raw['scores'], raw['valid'], t,
                                         self.test_cfg['nms'])
        for ds, (seg, score) in zip(data_samples, detections):
            ds.pred_instances = to_video_time(seg, score, ds.metainfo)
        return data_samples

    def forward_tensor(self, inputs,
                       data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        """Inference over all proposals (or the RoI head's test sampler's).

        Returns ``boundary [B, 2, T]``, ``segments [B, n, 2]`` (the average of the
        stages' refinements, snippet units), ``scores [B, n]``, ``valid [B, n]``
        (boundary selection), ``anchors [B, n, 2]``; see ``ETADRoIHead.predict``.
        """
        feats = self._stack_inputs(inputs, data_samples)
        x, bd = self.extract_feat(feats)
        head = self.roi_head
        sampler = head.test_proposal_sampler
        if sampler is not None and data_samples is not None:
            gts = (self._padded_gts(data_samples, feats)
                   if {'ious', 'scales'} & set(sampler.requires) else None)
            keys = self.sampling_keys(data_samples, ('dps',), feats.device)[:, 0]
            anchors = head.sample_proposals(x, keys, sampler, gts)
        else:
            anchors = head.anchors.float().unsqueeze(0).expand(x.shape[0], -1, -1)
        out = head.predict(x, bd, anchors)
        return dict(boundary=bd, anchors=anchors, **out)
