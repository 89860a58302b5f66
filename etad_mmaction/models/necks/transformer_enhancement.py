"""Transformer feature enhancement: the "Transformer" row of Table 7 (App. C.1)."""
import math

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from .lstm_enhancement import check_neck_input, conv_gn_relu

POS_ENCODINGS = ('sine', 'none')


def sine_positions(length: int, channels: int, device=None, dtype=None) -> Tensor:
    """Fixed sinusoidal positions ``[length, channels]`` (Vaswani et al. 2017, Sec. 3.5)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, channels, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / channels))
    out = torch.zeros(length, channels, device=device, dtype=torch.float32)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[:channels // 2])
    return out.to(dtype) if dtype is not None else out


@MODELS.register_module()
class TransformerFeatureEnhancement(BaseModule):
    """Global temporal aggregation by a vanilla Transformer encoder.

    conv k3 (in -> hidden, the input projection of :class:`LSTMFeatureEnhancement`);
    + positional encoding; ``num_layers`` Transformer encoder layers (multi-head
    self-attention over all T snippets and a feed-forward block, post-norm as in
    the original Transformer); conv k1 (-> out) with GroupNorm and ReLU.

    The paper names only "a vanilla transformer" (App. C.1, Table 7). The
    defaults are the project's choice: width 256 as the LSTM, 2 layers (one per
    LSTM), 8 heads (32 channels each), feed-forward 1024, dropout 0.1, fixed
    sinusoidal positions: 1.95 M parameters at in_channels 400 against the LSTM
    module's 1.89 M.

    Args:
        in_channels (int): feature dimension C of the input ``[B, C, T]``.
        hidden_channels (int): model width (divisible by ``num_heads``).
        out_channels (int): output width.
        num_layers (int): encoder layers.
        num_heads (int): attention heads.
        ffn_channels (int): hidden width of the feed-forward blocks.
        dropout (float): dropout of attention and feed-forward blocks.
        pos_encoding (str): ``'sine'`` (fixed sinusoidal) or ``'none'``.
        norm_first (bool): pre-norm layers instead of the original post-norm.
        num_groups, conv_groups, bias: as :class:`LSTMFeatureEnhancement`.

    Returns ``[B, out_channels, T]``.
    """

    def __init__(self, in_channels: int = 400, hidden_channels: int = 256,
                 out_channels: int = 256, num_layers: int = 2, num_heads: int = 8,
                 ffn_channels: int = 1024, dropout: float = 0.1, pos_encoding: str = 'sine',
                 norm_first: bool = False, num_groups: int = 16, conv_groups: int = 1,
                 bias: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if pos_encoding not in POS_ENCODINGS:
            raise ValueError(f'neck.pos_encoding must be one of {POS_ENCODINGS}, '
                             f'got {pos_encoding!r}')
        if hidden_channels % num_heads:
            raise ValueError(f'neck.hidden_channels={hidden_channels} is not divisible by '
                             f'neck.num_heads={num_heads}')
        if pos_encoding == 'sine' and hidden_channels % 2:
            raise ValueError(f'neck.hidden_channels={hidden_channels} must be even for '
                             f"pos_encoding='sine'")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f'neck.num_layers must be an int >= 1, got {num_layers!r}')
        if in_channels % conv_groups:
            raise ValueError(f'neck.in_channels={in_channels} is not divisible by '
                             f'neck.conv_groups={conv_groups}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.pos_encoding = pos_encoding
        kw = dict(groups=num_groups, conv_groups=conv_groups, bias=bias)
        self.input_conv = conv_gn_relu(in_channels, hidden_channels, 3, **kw)
        layer = nn.TransformerEncoderLayer(hidden_channels, num_heads, ffn_channels,
                                           dropout=dropout, batch_first=True,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(hidden_channels) if norm_first else None,
            enable_nested_tensor=False)
        self.fuse = conv_gn_relu(hidden_channels, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        check_neck_input(self, x)
        seq = self.input_conv(x).transpose(1, 2)    # [B, T, hidden]
        if self.pos_encoding == 'sine':
            seq = seq + sine_positions(seq.shape[1], seq.shape[2], seq.device, seq.dtype)
        return self.fuse(self.encoder(seq).transpose(1, 2))
