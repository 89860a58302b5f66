"""Several same-shaped FC stacks evaluated as batched matrix products."""
import math
from typing import Sequence

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

    def first_layer_weight(self) -> Tensor:
        """The first layer as one ``[in, G * hidden]`` matrix (branch-major columns)."""
        w = self.weights[0]
        return w.permute(1, 0, 2).reshape(w.shape[1], self.num_branches * w.shape[2])

    def forward_hidden(self, h: Tensor) -> Tensor:
        """Continue from the first layer's product without bias, ``h [N, G * hidden]``
        (e.g. from :func:`taps_linear` with :meth:`first_layer_weight`)."""
        x = h.view(h.shape[0], self.num_branches, -1).transpose(0, 1) + self.biases[0]
        return self._rest(x)

    def _rest(self, x: Tensor) -> Tensor:
        num_layers = len(self.weights)
        if num_layers > 1:
            x = torch.relu(x)
        for i in range(1, num_layers):
            x = torch.baddbmm(self.biases[i], x, self.weights[i])
            if i < num_layers - 1:
                x = torch.relu(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        g = self.num_branches
        num_layers = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if i == 0 and x.dim() == 2:  # shared input: one wide matrix product
                n = x.shape[0]
                wide = w.permute(1, 0, 2).reshape(w.shape[1], g * w.shape[2])
                x = (x @ wide).view(n, g, -1).transpose(0, 1) + b
            else:
                x = torch.baddbmm(b, x, w)
            if i < num_layers - 1:
                x = torch.relu(x)
        return x
