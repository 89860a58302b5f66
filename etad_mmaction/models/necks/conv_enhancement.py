"""Conv-only feature enhancement: the "Conv" row of Table 7 (App. C.1)."""
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS
from .lstm_enhancement import check_neck_input, conv_gn_relu


@MODELS.register_module()
class ConvFeatureEnhancement(BaseModule):
    """Local temporal aggregation only: the LSTM module with its LSTMs removed.

    conv k3 (in -> hidden); ``num_layers`` convs k ``kernel_size`` (hidden ->
    hidden); conv k1 (-> out); GroupNorm and ReLU after each, as in
    :class:`LSTMFeatureEnhancement`. The paper does not give the layers of its
    Conv baseline (App. C.1, Table 7); this choice (2 layers of k3, receptive
    field 2 * num_layers + 3 snippets) is the project's and is configurable.

    Args:
        in_channels (int): feature dimension C of the input ``[B, C, T]``.
        hidden_channels (int): width of the input conv and the aggregation convs.
        out_channels (int): output width.
        num_layers (int): aggregation convs between the input and output convs.
        kernel_size (int): their (odd) kernel size.
        num_groups, conv_groups, bias: as :class:`LSTMFeatureEnhancement`.

    Returns ``[B, out_channels, T]``.
    """

    def __init__(self, in_channels: int = 400, hidden_channels: int = 256,
                 out_channels: int = 256, num_layers: int = 2, kernel_size: int = 3,
                 num_groups: int = 16, conv_groups: int = 1, bias: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f'neck.num_layers must be an int >= 0, got {num_layers!r}')
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'neck.kernel_size must be an odd int >= 1, got {kernel_size!r}')
        if in_channels % conv_groups:
            raise ValueError(f'neck.in_channels={in_channels} is not divisible by '
                             f'neck.conv_groups={conv_groups}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        kw = dict(groups=num_groups, conv_groups=conv_groups, bias=bias)
        self.input_conv = conv_gn_relu(in_channels, hidden_channels, 3, **kw)
        self.layers = nn.Sequential(*[conv_gn_relu(hidden_channels, hidden_channels,
                                                   kernel_size, **kw)
                                      for _ in range(num_layers)])
        self.fuse = conv_gn_relu(hidden_channels, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        check_neck_input(self, x)
        return self.fuse(self.layers(self.input_conv(x)))
