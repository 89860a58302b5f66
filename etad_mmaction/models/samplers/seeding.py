"""Seeded generators for every random choice of ETAD (DPS, negative sub-sampling, EGS).

A generator is derived from ``(run seed, epoch, video index, stream)`` so that
runs, resumes and distributed ranks draw the same samples for the same video.
"""
import hashlib

import torch


def sampling_seed(seed: int, epoch: int, index: int, stream: str = '') -> int:
    """A 63-bit seed mixed from the run seed, the epoch, the dataset index of the
    video and a stream name (``'dps'``, ``'egs'``, ``'neg'`` ...)."""
    key = f'{int(seed)}/{int(epoch)}/{int(index)}/{stream}'.encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), 'little') >> 1


def sampling_generator(seed: int, epoch: int, index: int, stream: str = '',
                       device='cpu') -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded by :func:`sampling_seed`."""
    gen = torch.Generator(device=device)
    gen.manual_seed(sampling_seed(seed, epoch, index, stream))
    return gen
