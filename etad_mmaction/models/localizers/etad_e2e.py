"""End-to-end ETAD: snippet encoder + ETAD detector with Encoder Gradient Sampling."""
from typing import Dict, Optional, Union

import torch
from mmengine.dist import all_reduce_params
from mmengine.optim import OptimWrapper
from torch import Tensor

from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList
from .base import BaseTADLocalizer
from ..encoders.egs import EncoderGradientSampling


@MODELS.register_module()
class ETADEndToEnd(BaseTADLocalizer):
    """ETAD trained from video (Section 3.2.1, Appendix G).

    Inputs: per video the ``M`` snippets ``[M, C, T, H, W]`` (batched
    ``[B, M, C, T, H, W]`` by ``ActionDataPreprocessor(format_shape='NCTHW')``),
    with ``M == detector.num_snippets``; data samples as for :class:`ETAD`.

    Args:
        encoder (dict): a ``SnippetEncoder`` config (any ``MODELS`` module mapping
            ``[N, C, T, H, W]`` to ``[N, D]`` that is a per-snippet function).
        detector (dict): an ``ETAD`` config whose neck takes ``D`` channels.
        feature_channels (int, optional): the encoder's feature channels ``D``,
            written into ``detector.neck.in_channels`` (so that a feature-based
            detector config, e.g. ``{{_base_.model}}``, can be reused as is).
            Either way, a neck that does not take the encoder's ``D`` (when the
            backbone reports it) is a config error.
        egs (dict): :class:`EncoderGradientSampling` arguments: ``ratio``,
            ``mode`` (``'single_pass'`` | ``'injection'``), ``sampler``,
            ``chunk_size``. Snippet choices draw from the detector's seeded
            generator, stream ``'egs'`` (per video: run seed, epoch, sample_idx).
        data_preprocessor (dict): default ``ActionDataPreprocessor`` with
            ``format_shape='NCTHW'``.

    Training: ``single_pass`` is MMEngine's ``BaseModel.train_step`` (one graph,
    one backward; under DDP the stock path, DDP averages the gradients).
    ``injection`` has its own :meth:`train_step`, which
    ``ETADDistributedDataParallel`` calls under ``no_sync``; it averages the
    gradients across ranks once per update (``mmengine.dist``). ``loss()`` gives
    the same losses and gradients as the configured mode in one autograd graph
    (``injection`` then keeps the activations of all sampled snippets at once).
    Inference: features without gradients (chunked) -> ``detector.predict``.
    """

    def __init__(self, encoder: dict, detector: dict,
                 egs: Optional[dict] = None, feature_channels: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ActionDataPreprocessor', format_shape='NCTHW')
        if isinstance(data_preprocessor, dict):      # MMAction2's registry, whatever the scope
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.encoder = MODELS.build(encoder)
        detector = dict(detector)
        detector.pop('data_preprocessor', None)
        if feature_channels is not None:
            detector['neck'] = dict(detector.get('neck') or {}, in_channels=int(feature_channels))
        self.detector = MODELS.build(detector)
        enc_d = getattr(self.encoder, 'out_channels', None)
        neck_d = getattr(getattr(self.detector, 'neck', None), 'in_channels', None)
        if enc_d is not None and neck_d is not None and enc_d != neck_d:
            raise ValueError(f'model.detector.neck.in_channels={neck_d} but the encoder gives '
                             f'{enc_d}-d snippet features; set model.feature_channels={enc_d}')
        egs = dict(ratio=0.3, mode='single_pass') if egs is None else dict(egs)
        try:
            self.egs = EncoderGradientSampling(**egs)
        except TypeError as err:
            raise TypeError(f'model.egs: {err}') from None

    @property
    def owns_distributed_train_step(self) -> bool:
        """Gradient injection back-propagates outside any DDP forward: the wrapper
        calls :meth:`train_step` under ``no_sync`` and it averages the gradients."""
        return self.egs.mode == 'injection' and self.egs.ratio > 0

    # ------------------------------------------------------------ sampling state
    def set_sampling_state(self, seed: Optional[int] = None, epoch: Optional[int] = None):
        """Called by ``ETADSamplingHook``; EGS and DPS share the detector's state."""
        self.detector.set_sampling_state(seed=seed, epoch=epoch)

    # ------------------------------------------------------------ helpers
    def _stack_snippets(self, inputs, data_samples) -> Tensor:
        x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
        m = self.detector.num_snippets
        if x.dim() != 6 or x.shape[1] != m:
            names = [ds.metainfo.get('video_name', '?') for ds in (data_samples or [])][:4]
            raise ValueError(f'ETADEndToEnd expects snippets [B, M={m}, C, T, H, W] '
                             f'(M = model.detector.num_snippets) but got {tuple(x.shape)} '
                             f'for videos {names}')
        return x if x.is_floating_point() else x.float()

    def grad_indices(self, data_samples, num: int, features: Optional[Tensor] = None,
                     device=None) -> Tensor:
        """Flat indices (``video * M + snippet``) of the snippets with gradients.
        ``features`` ``[B, M, D]`` (no-grad) for feature-guided samplers."""
        out = []
        for i, ds in enumerate(data_samples):
            gen = self.detector.generator(ds, 'egs') if self.egs.sampler is not None else None
            feats = features[i] if features is not None else None
            out.append(self.egs.select(num, generator=gen, features=feats, device=device) + i * num)
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=device)

    def extract_feat(self, inputs, data_samples=None, training: bool = True) -> Tensor:
        """Snippet features ``[B, D, M]`` for the detector. ``training=False``:
        all without gradients; otherwise EGS in the configured mode (one graph)."""
        x = self._stack_snippets(inputs, data_samples)
        b, m = x.shape[:2]
        flat = x.flatten(0, 1)
        if not training or self.egs.ratio == 0.0:
            feats = self.egs.encode_no_grad(self.encoder, flat)
        elif self.egs.mode == 'single_pass':
            idx = self.grad_indices(data_samples, m, device=flat.device)
            feats = self.egs.encode_single_pass(self.encoder, flat, idx)
        else:
            def select(f):
                return self.grad_indices(data_samples, m, f.view(b, m, -1)
                                         if self.egs.needs_features else None, flat.device)
            feats = self.egs.encode_two_pass(self.encoder, flat, select)
        return feats.view(b, m, -1).transpose(1, 2)

    # ------------------------------------------------------------ modes
    def loss(self, inputs, data_samples: SampleList) -> Dict[str, Tensor]:
        return self.detector.loss(self.extract_feat(inputs, data_samples), data_samples)

    @torch.no_grad()
    def predict(self, inputs, data_samples: SampleList) -> SampleList:
        feats = self.extract_feat(inputs, data_samples, training=False)
        return self.detector.predict(feats, data_samples)

    def forward_tensor(self, inputs,
                       data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        """The detector's raw outputs (``ETAD.forward_tensor``) on no-grad features."""
        with torch.no_grad():
            feats = self.extract_feat(inputs, data_samples, training=False)
        return self.detector.forward_tensor(feats, data_samples)

    # ------------------------------------------------------------ training
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One iteration with MMEngine's ``OptimWrapper`` semantics (AMP context,
        ``scale_loss`` for gradient accumulation, ``backward``, ``step`` with
        gradient clipping and ``zero_grad`` when ``should_update()``).

        ``single_pass`` (and ``ratio`` 0): ``BaseModel.train_step``.
        ``injection`` (``ratio > 0``): forward everything without gradients ->
        features as a leaf -> detector loss -> ``optim_wrapper.backward`` (so the
        wrapper's loss scaler also scales ``dL/dF``) -> re-forward the sampled
        snippets chunk by chunk under the same ``optim_context`` and
        back-propagate ``dL/dF`` into the encoder -> gradients averaged across
        ranks -> one optimiser step.
        """
        if not self.owns_distributed_train_step:
            return super().train_step(data, optim_wrapper)
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            inputs, data_samples = data['inputs'], data['data_samples']
            x = self._stack_snippets(inputs, data_samples)
            b, m = x.shape[:2]
            flat = x.flatten(0, 1)
            feats = self.egs.encode_no_grad(self.encoder, flat)          # [B*M, D]
            leaf = feats.view(b, m, -1).detach().requires_grad_(True)
            losses = self.detector.loss(leaf.transpose(1, 2), data_samples)
        parsed_losses, log_vars = self.parse_losses(losses)
        optim_wrapper.backward(optim_wrapper.scale_loss(parsed_losses))
        if leaf.grad is not None:
            idx = self.grad_indices(data_samples, m,
                                    leaf.detach() if self.egs.needs_features else None,
                                    flat.device)
            grad = leaf.grad.flatten(0, 1)
            with optim_wrapper.optim_context(self):
                self.egs.inject(self.encoder, flat, idx, grad)
        if optim_wrapper.should_update():
            # every trainable parameter joins (zeros where this rank has no gradient),
            # so all ranks run the same collectives; a no-op in one process
            params = [p for p in self.parameters() if p.requires_grad]
            for p in params:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
            all_reduce_params([p.grad for p in params], op='mean')
            optim_wrapper.step()
            optim_wrapper.zero_grad()
        return log_vars
