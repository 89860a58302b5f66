"""One sampler interface for both levels of ETAD (Section 3.3): "which k of these n?".

Detector Proposal Sampling passes the valid proposals of the map; Encoder
Gradient Sampling passes the snippets of a video. A sampler returns the sorted
indices of ``k = max(1, floor(ratio * n))`` candidates.
"""
import math
from typing import Optional

import torch
from torch import Tensor


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

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio})'
