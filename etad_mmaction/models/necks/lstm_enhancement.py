"""Feature enhancement neck of ETAD (Appendix A.1, Figure 5)."""
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


def conv_gn_relu(in_channels: int, out_channels: int, kernel_size: int,
                 groups: int = 16, conv_groups: int = 1, bias: bool = True) -> nn.Sequential:
    """Conv1d followed by GroupNorm(groups) and ReLU (App. A.1: after each conv)."""
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                  groups=conv_groups, bias=bias),
        nn.GroupNorm(groups, out_channels), nn.ReLU(inplace=True))


def check_neck_input(neck, x: Tensor) -> None:
    """``x`` must be ``[B, neck.in_channels, T]``: an error naming the config key."""
    if x.dim() != 3 or x.shape[1] != neck.in_channels:
        raise ValueError(f'{type(neck).__name__} expects [B, {neck.in_channels}, T] '
                         f'features (neck.in_channels), got {tuple(x.shape)}')


BRANCHES = ('forward', 'backward', 'residual')
DIRECTIONS = {'both': ('forward', 'backward'), 'forward': ('forward',),
              'backward': ('backward',)}


@MODELS.register_module()
class LSTMFeatureEnhancement(BaseModule):
    """LSTM temporal aggregation (forward and backward) with a residual conv branch.

    conv k3 (in -> 256); forward LSTM (hidden 256) -> conv k3 (-> 128); backward
    LSTM on the time-flipped sequence, flipped back -> conv k3 (-> 128); a
    residual conv k3 (256 -> 256); concat (512) -> conv k1 (-> 256). The first
    conv is the input projection, so any feature dimension works (400 TSN,
    512 TSP, 2048 I3D, 2304 SlowFast).

    ``direction`` keeps one LSTM branch only (App. A.1 "Discussions": with
    ``'forward'`` a snippet never sees later context, with ``'backward'`` never
    earlier); the fusing conv then reads ``branch_channels + hidden_channels``.

    Args:
        in_channels (int): feature dimension C of the input ``[B, C, T]``.
        hidden_channels (int): width after the input conv and LSTM hidden size.
        branch_channels (int): output width of each LSTM branch's conv.
        out_channels (int): output width.
        num_groups (int): GroupNorm groups.
        conv_groups (int): groups of every convolution (paper text 1; the
            authors' code 4).
        bias (bool): convolution biases (the authors' code: none, GroupNorm follows).
        concat_order (tuple): order of the three branches before the fusing conv
            (the authors' code: forward, residual, backward); the branch that
            ``direction`` drops is left out of it.
        direction (str): ``'both'`` (the paper, default), ``'forward'`` or
            ``'backward'``: the LSTM branches kept.

    Returns ``[B, out_channels, T]``.
    """

    def __init__(self, in_channels: int = 400, hidden_channels: int = 256,
                 branch_channels: int = 128, out_channels: int = 256,
                 num_groups: int = 16, conv_groups: int = 1, bias: bool = True,
                 concat_order=('forward', 'backward', 'residual'), direction: str = 'both',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if direction not in DIRECTIONS:
            raise ValueError(f'neck.direction must be one of {tuple(DIRECTIONS)}, '
                             f'got {direction!r}')
        if sorted(concat_order) != sorted(BRANCHES):
            raise ValueError(f'neck.concat_order must order {BRANCHES}, got {concat_order!r}')
        if in_channels % conv_groups:
            raise ValueError(f'neck.in_channels={in_channels} is not divisible by '
                             f'neck.conv_groups={conv_groups}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.direction = direction
        kept = DIRECTIONS[direction]
        self.concat_order = tuple(k for k in concat_order if k == 'residual' or k in kept)
        kw = dict(groups=num_groups, conv_groups=conv_groups, bias=bias)
        self.input_conv = conv_gn_relu(in_channels, hidden_channels, 3, **kw)
        if 'forward' in kept:
            self.lstm_fwd = nn.LSTM(hidden_channels, hidden_channels, batch_first=True)
        if 'backward' in kept:
            self.lstm_bwd = nn.LSTM(hidden_channels, hidden_channels, batch_first=True)
        if 'forward' in kept:
            self.conv_fwd = conv_gn_relu(hidden_channels, branch_channels, 3, **kw)
        if 'backward' in kept:
            self.conv_bwd = conv_gn_relu(hidden_channels, branch_channels, 3, **kw)
        self.conv_res = conv_gn_relu(hidden_channels, hidden_channels, 3, **kw)
        self.fuse = conv_gn_relu(len(kept) * branch_channels + hidden_channels, out_channels,
                                 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        check_neck_input(self, x)
        x = self.input_conv(x)                      # [B, 256, T]
        seq = x.transpose(1, 2)                     # [B, T, 256]
        parts = dict(residual=self.conv_res(x))     # [B, 256, T]
        if 'forward' in self.concat_order:
            fwd, _ = self.lstm_fwd(seq)
            parts['forward'] = self.conv_fwd(fwd.transpose(1, 2))   # [B, 128, T]
        if 'backward' in self.concat_order:
            bwd, _ = self.lstm_bwd(torch.flip(seq, dims=[1]))
            parts['backward'] = self.conv_bwd(torch.flip(bwd, dims=[1]).transpose(1, 2))
        return self.fuse(torch.cat([parts[k] for k in self.concat_order], dim=1))
