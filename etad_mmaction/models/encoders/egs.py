"""Encoder Gradient Sampling (Section 3.2.1, Algorithm 1 of Appendix G).

Only ``k = max(1, floor(ratio * M))`` snippets of a video back-propagate into the
encoder; the others contribute to the forward pass only. Two exact executions:

``single_pass`` (Algorithm 1)
    unsampled snippets through the encoder under ``torch.no_grad`` in chunks of
    ``chunk_size``, sampled ones with autograd; the features are concatenated,
    put back in snippet order and sent to the detector; one backward.

``injection``
    every snippet through the encoder under ``torch.no_grad`` (chunks) ->
    features ``F`` as a leaf that requires grad -> detector loss -> backward
    gives the detector's gradients and ``dL/dF``; the sampled snippets are then
    forwarded again with autograd, chunk by chunk, and
    ``torch.autograd.backward(f_chunk, dL/dF[chunk])`` adds the encoder's
    gradients. The encoder's activations are kept for one chunk at a time, so
    the peak memory does not grow with the ratio. Exact when the encoder is a
    per-snippet deterministic function in the same mode in both passes (frozen
    BatchNorm, which ``SnippetEncoder`` enforces; no dropout or other randomness).

Both give the gradients of plain autograd through the whole model where the
unsampled snippets' features are detached (at ``ratio=1``: plain autograd).
"""
import math
from typing import Optional

import torch
from torch import Tensor

from mmaction.registry import TASK_UTILS

EGS_MODES = ('single_pass', 'injection')


class EncoderGradientSampling:
    """Which snippets get encoder gradients, and how the encoder is run.

    Args:
        ratio (float): gradient sampling ratio ``gamma`` in [0, 1]. ``0``: the
            encoder runs without gradients (frozen features, the sampler is never
            called); ``1``: every snippet gets gradients (no sampler call).
        mode (str): ``'single_pass'`` or ``'injection'`` (see module docstring).
        sampler (dict): a ``TASK_UTILS`` sampler (``RandomSampler``,
            ``GridSampler``, ``BlockSampler``, ``FPSSampler``, ``DPPSampler`` ...)
            without ``ratio`` (it is ``ratio`` above). Feature-guided samplers
            (``requires`` has ``'features'``) are only allowed in ``injection``
            mode, where the no-grad features of all snippets exist before the
            choice; in ``single_pass`` mode they are a config error.
        chunk_size (int, optional): snippets per encoder forward (App. G
            splits large inputs); does not change the result. Default: 4 in
            ``injection`` mode (the fastest chunk whose step stays under a
            2.5 GB budget: TSM-R50 at 224, 8 frames, 128 snippets, ratio 0.3
            on an H200: 2.1 GB / 0.60 s at 4, 3.1 GB / 0.39 s at 8) and 32 in
            ``single_pass`` mode (there the chunk only bounds the no-grad pass:
            9.9 GB at every chunk, 0.27 s at 32 vs 0.47 s at 4); see
            ``docs/benchmarks.md``.
        count (str): how many snippets get gradients: ``'floor'`` (default,
            ``k = max(1, floor(ratio * M))``, the paper's Algorithm 1) or
            ``'chunks'`` (the authors' released code: whole chunks,
            ``k = chunk_size * int(ratio * M / chunk_size + 0.99)``, at most
            ``M``; 40 of 128 snippets at 0.3 with chunks of 4, not 38).
    """

    #: default ``chunk_size`` per mode (measured, see the docstring)
    DEFAULT_CHUNK = dict(single_pass=32, injection=4)

    def __init__(self, ratio: float = 0.3, mode: str = 'single_pass',
                 sampler: Optional[dict] = dict(type='RandomSampler'),
                 chunk_size: Optional[int] = None, count: str = 'floor'):
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) \
                or math.isnan(float(ratio)) or not 0.0 <= float(ratio) <= 1.0:
            raise ValueError(f'model.egs.ratio must be in [0, 1], got {ratio!r}')
        if mode not in EGS_MODES:
            raise ValueError(f'model.egs.mode must be one of {EGS_MODES}, got {mode!r}')
        if chunk_size is None:
            chunk_size = self.DEFAULT_CHUNK[mode]
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f'model.egs.chunk_size must be an int >= 1, got {chunk_size!r}')
        if count not in ('floor', 'chunks'):
            raise ValueError(f"model.egs.count must be 'floor' or 'chunks', got {count!r}")
        self.ratio = float(ratio)
        self.mode = mode
        self.chunk_size = chunk_size
        self.count = count
        self.sampler = None
        if 0.0 < self.ratio < 1.0:
            if sampler is None:
                raise ValueError('model.egs.sampler is required when 0 < model.egs.ratio < 1')
            cfg = dict(sampler)
            if 'ratio' in cfg and float(cfg['ratio']) != self.ratio:
                raise ValueError(f'model.egs.sampler.ratio={cfg["ratio"]} differs from '
                                 f'model.egs.ratio={self.ratio}; set model.egs.ratio only')
            cfg['ratio'] = self.ratio
            try:
                self.sampler = TASK_UTILS.build(cfg)
            except KeyError as err:
                raise KeyError(f'model.egs.sampler: unknown sampler type '
                               f'{cfg.get("type")!r} ({err})') from None
            if count == 'chunks':       # the sampler draws num_grad(M) snippets
                self.sampler.num_samples = self.num_grad
            req = set(getattr(self.sampler, 'requires', ()))
            if req - {'coords', 'features'}:
                raise ValueError(f'model.egs.sampler: {type(self.sampler).__name__} needs '
                                 f'{sorted(req - {"coords", "features"})}, which snippets '
                                 'do not have (proposal-only sampler)')
            if 'features' in req and mode == 'single_pass':
                raise ValueError(
                    f'model.egs.sampler: {type(self.sampler).__name__} needs snippet '
                    "features before the choice; use model.egs.mode='injection' (whose "
                    'no-grad pass provides them) or a feature-free sampler')

    def num_grad(self, num: int) -> int:
        """Snippets with gradients among ``num`` (see ``count``)."""
        if self.ratio == 0.0:
            return 0
        if self.count == 'chunks':
            chunks = int(num * self.ratio / self.chunk_size + 0.99)
            return min(num, max(1, chunks * self.chunk_size))
        return min(num, max(1, int(math.floor(self.ratio * num + 1e-9))))

    @property
    def needs_features(self) -> bool:
        return self.sampler is not None and 'features' in getattr(self.sampler, 'requires', ())

    # ---------------------------------------------------------------- choice
    def select(self, num: int, generator: Optional[torch.Generator] = None,
               features: Optional[Tensor] = None, device=None) -> Tensor:
        """Sorted indices of the snippets that get gradients (``[k]`` long)."""
        if self.ratio == 0.0:
            return torch.zeros(0, dtype=torch.long, device=device)
        if self.sampler is None:          # ratio 1
            return torch.arange(num, device=device)
        coords = torch.arange(num).unsqueeze(1)
        if features is not None:
            features = features.detach().float().cpu()
        idx = self.sampler(num, coords=coords, features=features, generator=generator)
        return idx.to(device) if device is not None else idx

    # ---------------------------------------------------------------- passes
    def encode_no_grad(self, encoder, snippets: Tensor) -> Tensor:
        """``[N, C, T, H, W]`` -> ``[N, D]`` without autograd, in chunks."""
        with torch.no_grad():
            return torch.cat([encoder(snippets[lo:lo + self.chunk_size])
                              for lo in range(0, snippets.shape[0], self.chunk_size)])

    def encode_with_grad(self, encoder, snippets: Tensor) -> Tensor:
        """``[N, ...]`` -> ``[N, D]`` with autograd (chunked only to bound tensor sizes)."""
        return torch.cat([encoder(snippets[lo:lo + self.chunk_size])
                          for lo in range(0, snippets.shape[0], self.chunk_size)])

    def encode_single_pass(self, encoder, snippets: Tensor, grad_index: Tensor) -> Tensor:
        """Algorithm 1 on flattened snippets ``[N, ...]``: rows ``grad_index`` with
        autograd, the others without; returns ``[N, D]`` in the original order."""
        n = snippets.shape[0]
        grad_index = grad_index.to(snippets.device)
        if grad_index.numel() == 0:
            return self.encode_no_grad(encoder, snippets)
        if grad_index.numel() == n:
            return self.encode_with_grad(encoder, snippets)
        mask = torch.zeros(n, dtype=torch.bool, device=snippets.device)
        mask[grad_index] = True
        rest_index = torch.nonzero(~mask, as_tuple=False).flatten()
        feat_b = self.encode_no_grad(encoder, snippets[rest_index])           # X_b
        feat_a = self.encode_with_grad(encoder, snippets[grad_index])         # X_a
        order = torch.cat([grad_index, rest_index])
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(n, device=order.device)
        return torch.cat([feat_a, feat_b.to(feat_a.dtype)])[inverse]

    def encode_two_pass(self, encoder, snippets: Tensor, select_fn) -> Tensor:
        """The forward of ``injection`` as one autograd graph (used by ``loss()``):
        all rows without grad, ``grad_index = select_fn(features)``, then those rows
        again with grad. Same values and gradients as ``inject``."""
        feats = self.encode_no_grad(encoder, snippets)
        grad_index = select_fn(feats).to(snippets.device)
        if grad_index.numel() == 0:
            return feats
        feats = feats.clone()
        feats[grad_index] = self.encode_with_grad(encoder, snippets[grad_index]).to(feats.dtype)
        return feats

    def inject(self, encoder, snippets: Tensor, grad_index: Tensor, grad: Tensor) -> None:
        """Re-forward rows ``grad_index`` of ``snippets`` chunk by chunk with
        autograd and back-propagate ``grad[grad_index]`` (``dL/dF``) into the
        encoder's parameters (accumulating into ``.grad``)."""
        grad_index = grad_index.to(snippets.device)
        for lo in range(0, grad_index.numel(), self.chunk_size):
            rows = grad_index[lo:lo + self.chunk_size]
            feat = encoder(snippets[rows])
            g = grad[rows].to(feat.dtype)
            if feat.requires_grad:
                torch.autograd.backward(feat, g)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(ratio={self.ratio}, mode={self.mode!r}, '
                f'sampler={self.sampler!r}, chunk_size={self.chunk_size}, count={self.count!r})')
