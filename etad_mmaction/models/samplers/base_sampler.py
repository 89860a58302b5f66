"""One sampler interface for both levels of ETAD (Section 3.3): "which k of these n?".

Detector Proposal Sampling passes the valid proposals of the map; Encoder
Gradient Sampling passes the snippets of a video. A sampler returns the sorted
indices of ``k = max(1, floor(ratio * n))`` candidates.

Two entry points: ``sampler(num, ..., generator=g)`` for one video, and
``sampler.sample_batch(keys, num, ...)`` for a batch of videos, each drawing from
its own 63-bit key (``seeding.sampling_seed``). Strategies with ``batched = True``
(random, grid with a fixed offset, block, IoU- and scale-balanced) implement the
batch in tensor operations with counter-based draws (``seeding.counter_hash``):
no host synchronisation, no generator objects, so the training step compiles as
one graph; the per-video call of such a strategy draws its key from the
generator and runs the same code. The others (FPS, DPP, the jittered grid) loop
over the videos on the host with a generator seeded by each key.
"""
import math
from typing import Dict, Optional

import torch
from torch import Tensor

from .seeding import generator_key


class BaseSampler:
    """Base class of the registered samplers (``TASK_UTILS``).

    Args:
        ratio (float): fraction of candidates to keep, in (0, 1].

    Call signature (keyword-only except ``num``)::

        sampler(num, *, coords=None, features=None, ious=None, scales=None,
                generator=None) -> LongTensor [k] (sorted, unique)

    - ``coords``: integer ``[n, d]`` positions of the candidates on their grid:
      ``[n, 1]`` snippet index for snippets, ``[n, 2]`` ``(start, end)`` for
      proposals of the map (see ``models/utils/proposal_map.py``). Grid and
      block samplers need it (1-D ``arange(n)`` is assumed when omitted).
    - ``features``: ``[n, c]`` float features (FPS, DPP).
    - ``ious``: ``[n]`` max IoU of each proposal with the ground truth (IoU-balanced).
    - ``scales``: ``[n]`` relative length of each proposal in [0, 1] (scale-balanced).
    - ``generator``: a seeded ``torch.Generator``; every random choice draws from
      it and never from global state (see ``seeding.sampling_generator``).
    """

    #: names of the keyword inputs the strategy cannot work without
    requires = ()
    #: whether :meth:`sample_batch` runs in tensor operations (traceable, no host sync)
    batched = False

    def __init__(self, ratio: float = 0.06):
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) \
                or not (0.0 < float(ratio) <= 1.0) or math.isnan(float(ratio)):
            raise ValueError(f'{type(self).__name__}: `ratio` must be in (0, 1], got {ratio!r}')
        self.ratio = float(ratio)

    def num_samples(self, num: int) -> int:
        """``k = max(1, floor(ratio * n))`` (never more than ``n``)."""
        if num <= 0:
            return 0
        return min(num, max(1, int(math.floor(self.ratio * num + 1e-9))))

    def __call__(self, num: int, *, coords: Optional[Tensor] = None,
                 features: Optional[Tensor] = None, ious: Optional[Tensor] = None,
                 scales: Optional[Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        inputs = dict(coords=coords, features=features, ious=ious, scales=scales)
        for key in self.requires:
            if inputs[key] is None:
                raise ValueError(f'{type(self).__name__} needs `{key}` to sample')
        num = int(num)
        for key, value in inputs.items():
            if value is not None and value.shape[0] != num:
                raise ValueError(f'{type(self).__name__}: `{key}` has {value.shape[0]} '
                                 f'rows but num={num}')
        device = next((v.device for v in inputs.values() if v is not None), None)
        k = self.num_samples(num)
        if k == num:
            return torch.arange(num, device=device)
        if self.batched:
            self._check_values(**{n: inputs[n] for n in ('ious', 'scales') if n in self.requires})
            key = torch.tensor([generator_key(self.cpu_generator(generator))], device=device)
            rows = {n: v.unsqueeze(0) for n, v in (('ious', ious), ('scales', scales))
                    if v is not None}
            return self.sample_batch(key, num, coords=coords, plan=self.plan(num, coords),
                                     **rows)[0]
        index = self._sample(num, k, generator=self.cpu_generator(generator), **inputs)
        index = torch.sort(index.long()).values
        return index if device is None else index.to(device)

    @staticmethod
    def cpu_generator(generator: Optional[torch.Generator] = None) -> torch.Generator:
        """The CPU generator every strategy draws from.

        ``None`` gives a *fresh default-seeded* ``torch.Generator()`` (seed
        67280421310721), so an unseeded call is deterministic and never touches
        global state; a generator on another device seeds a CPU one with one draw.
        """
        if generator is None:
            return torch.Generator()
        if generator.device.type != 'cpu':
            seed = torch.randint(0, 2**62, (1,), generator=generator,
                                 device=generator.device).item()
            return torch.Generator().manual_seed(int(seed))
        return generator

    def _sample(self, num: int, k: int, *, coords, features, ious, scales,
                generator) -> Tensor:
        raise NotImplementedError

    def _check_values(self, **values) -> None:
        """Label inputs must not hold NaN (checked outside compiled graphs)."""
        for key, value in values.items():
            if value is not None and value.is_floating_point() \
                    and not torch.compiler.is_compiling() and bool(torch.isnan(value).any()):
                raise ValueError(f'{type(self).__name__}: `{key}` contain NaN')

    def plan(self, num: int, coords: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """What :meth:`sample_batch` precomputes from the candidates' positions
        alone (the same for every video: the grid's lattice, the block's windows),
        on the CPU, once; the RoI head keeps it as buffers on the model's device."""
        return {}

    def sample_batch(self, keys: Tensor, num: int, *, coords: Optional[Tensor] = None,
                     features: Optional[Tensor] = None, ious: Optional[Tensor] = None,
                     scales: Optional[Tensor] = None,
                     plan: Optional[Dict[str, Tensor]] = None) -> Tensor:
        """``k`` sorted indices per video -> ``[B, k]`` long.

        ``keys [B]``: each video's 63-bit key; ``coords [n, d]`` (shared by the
        videos); ``features [B, n, c]``, ``ious`` / ``scales`` ``[B, n]``; ``plan``:
        :meth:`plan` of ``(num, coords)`` (computed here when omitted). This
        default loops over the videos with a generator seeded by each key.
        """
        rows = []
        for b, key in enumerate(keys.tolist()):
            gen = torch.Generator().manual_seed(int(key))
            per = {n: v[b] for n, v in (('features', features), ('ious', ious),
                                        ('scales', scales)) if v is not None}
            rows.append(self(num, coords=coords, generator=gen, **per))
        return torch.stack(rows)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio})'
