"""Where every random choice of ETAD comes from (DPS, negative sub-sampling, EGS).

Each draw is a function of ``(run seed, epoch, video index, stream)`` only, so
runs, resumes, batch compositions and distributed ranks draw the same samples
for the same video:

- :func:`sampling_seed` mixes those four into a 63-bit *key* on the host
  (blake2b, no tensors);
- :func:`counter_hash` turns ``(key, counter)`` pairs into 32 random bits in
  integer tensor arithmetic, on any device and bit-identical on all of them: a
  counter-based generator (one counter per candidate) that traces into a
  compiled graph, unlike ``torch.Generator`` objects;
- :func:`sampling_generator` gives a ``torch.Generator`` for the strategies that
  stay on the host (FPS, DPP, EGS snippet draws of those).
"""
import hashlib

import torch
from torch import Tensor

_MASK32 = 0xFFFFFFFF
# odd multipliers below 2**31: products of 32-bit values stay below 2**63 in int64
_MUL = 0x45D9F3B
_WEYL = 0x7F4A7C15


def sampling_seed(seed: int, epoch: int, index: int, stream: str = '') -> int:
    """A 63-bit key mixed from the run seed, the epoch, the dataset index of the
    video and a stream name (``'dps'``, ``'neg'``, ``'egs'`` ...)."""
    key = f'{int(seed)}/{int(epoch)}/{int(index)}/{stream}'.encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), 'little') >> 1


def sampling_generator(seed: int, epoch: int, index: int, stream: str = '',
                       device='cpu') -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded by :func:`sampling_seed`."""
    gen = torch.Generator(device=device)
    gen.manual_seed(sampling_seed(seed, epoch, index, stream))
    return gen


def _mix32(x: Tensor) -> Tensor:
    """A 32-bit integer finaliser (xor-shift-multiply, two rounds) on int64 lanes."""
    x = x ^ (x >> 16)
    x = (x * _MUL) & _MASK32
    x = x ^ (x >> 16)
    x = (x * _MUL) & _MASK32
    return x ^ (x >> 16)


def counter_hash(keys: Tensor, counters: Tensor) -> Tensor:
    """32 random bits (int64 in ``[0, 2**32)``) for each ``(key, counter)`` pair.

    ``keys``: non-negative int64 keys (:func:`sampling_seed`); ``counters``:
    non-negative int64 below ``2**31``; the two broadcast. Pure integer tensor
    arithmetic: the same bits on every device, no host synchronisation, no
    generator state (draw ``j`` of a stream is ``counter_hash(key, j)``).
    """
    keys, counters = keys.long(), counters.long()
    base = _mix32(_mix32((keys >> 32) & _MASK32) ^ (keys & _MASK32))
    return _mix32(base ^ ((((counters + 1) & _MASK32) * _WEYL) & _MASK32))


def hashed_uniforms(keys: Tensor, counters: Tensor, dtype=torch.float32) -> Tensor:
    """Uniform draws in ``[0, 1)`` with 24 random bits (exact in float32) from
    :func:`counter_hash`."""
    return (counter_hash(keys, counters) >> 8).to(dtype) * (1.0 / (1 << 24))


def generator_key(generator: torch.Generator) -> int:
    """One 63-bit key drawn from ``generator`` (the per-video call of a batched
    sampler)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator,
                             device=generator.device).item())
