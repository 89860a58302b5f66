"""Several same-shaped FC stacks evaluated as batched matrix products."""
import math
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn


class ParallelMLP(nn.Module):
    """``G`` independent MLPs with identical layer sizes, run as one ``baddbmm`` per layer.

    Input ``[G, N, in]`` (one slice per branch) or ``[N, in]`` shared by all
    branches (then the first layer is one ``[N, in] x [in, G * hidden]`` product).
    ReLU after every layer but the last. Output ``[G, N, out]``.
    """

    def __init__(self, num_branches: int, dims: Sequence[int], init: str = 'linear_default'):
        super().__init__()
        if init not in ('linear_default', 'xavier_uniform'):
            raise ValueError(f"ParallelMLP init must be 'linear_default' or 'xavier_uniform', "
                             f'got {init!r}')
        self.num_branches = num_branches
        self.dims = list(dims)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(self.dims[:-1], self.dims[1:]):
            w = torch.empty(num_branches, d_in, d_out)
            b = torch.empty(num_branches, 1, d_out)
            if init == 'xavier_uniform':      # per branch, as nn.init.xavier_uniform_
                bound = math.sqrt(6.0 / (d_in + d_out))
                nn.init.uniform_(w, -bound, bound)
                nn.init.zeros_(b)
            else:                             # nn.Linear's default init
                bound = 1.0 / math.sqrt(d_in)
                nn.init.uniform_(w, -bound, bound)
                nn.init.uniform_(b, -bound, bound)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    def layer(self, i: int, branches: Optional[slice] = None) -> Tuple[Tensor, Tensor]:
        """Weight ``[G, in, out]`` and bias ``[G, 1, out]`` of layer ``i``, of the
        ``branches`` only if given (views)."""
        w, b = self.weights[i], self.biases[i]
        return (w, b) if branches is None else (w[branches], b[branches])

    def forward_after_first(self, x: Tensor, branches: Optional[slice] = None) -> Tensor:
        """Continue from the first layer's activations ``x [G, N, hidden]`` (bias
        added and ReLU applied, e.g. by :func:`taps_linear` with ``weights[0]``,
        ``biases[0]`` and ``relu=True``). With a single layer, ``x`` is the output.
        ``branches``: ``x`` holds these branches only (the others are not run).

        ReLUs run in place: no product keeps its output for the backward pass, so
        this saves one tensor per layer."""
        num_layers = len(self.weights)
        for i in range(1, num_layers):
            w, b = self.layer(i, branches)
            x = torch.baddbmm(b, x, w)
            if i < num_layers - 1:
                x = torch.relu_(x)
        return x

    def forward(self, x: Tensor, branches: Optional[slice] = None) -> Tensor:
        """``branches``: run these branches only (``x [G', N, in]`` holds their
        inputs unless shared)."""
        num_layers = len(self.weights)
        for i in range(num_layers):
            w, b = self.layer(i, branches)
            if i == 0 and x.dim() == 2:  # shared input: one wide matrix product
                n, g = x.shape[0], w.shape[0]
                wide = w.permute(1, 0, 2).reshape(w.shape[1], g * w.shape[2])
                x = (x @ wide).view(n, g, -1).transpose(0, 1) + b
            else:
                x = torch.baddbmm(b, x, w)
            if i < num_layers - 1:
                x = torch.relu_(x)
        return x
