"""Small helpers shared by the sampler strategies (Sec. 3.3)."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


def check_choice(owner: str, key: str, value, choices: Sequence) -> None:
    """Raise a ``ValueError`` naming ``key`` when ``value`` is not in ``choices``."""
    if value not in choices:
        raise ValueError(f'{owner}: unknown `{key}`={value!r}, expected one of '
                         f'{list(choices)}')


def split_coords(num: int, coords: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
    """CPU long ``(u, v)`` grid positions of the candidates.

    ``coords`` ``None``/``[n]``/``[n, 1]`` -> ``(position, None)`` (1-D);
    ``[n, 2]`` proposals ``(start, end)`` -> ``(start, length)``, both shifted to
    start at 0.
    """
    if coords is None:
        return torch.arange(num), None
    coords = coords.detach().to('cpu')
    if coords.dim() == 1 or coords.shape[1] == 1:
        return coords.reshape(-1).round().long(), None
    if coords.dim() != 2 or coords.shape[1] != 2:
        raise ValueError(f'`coords` must be [n], [n, 1] or [n, 2], got {tuple(coords.shape)}')
    start = coords[:, 0].round().long()
    length = (coords[:, 1] - coords[:, 0]).round().long()
    return start - start.min(), length - length.min()
