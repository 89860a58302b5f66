"""Boundary evaluation head of ETAD (Section 3.1): snippet startness and endness."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


@MODELS.register_module()
class BoundaryHead(BaseModule):
    """Two conv layers giving per-snippet start and end probabilities.

    conv k3 (``conv_groups``) -> GroupNorm (unless ``num_groups`` is None; the
    authors' code has none) -> ReLU -> conv k1 (-> 2) -> sigmoid.

    Returns ``[B, 2, T]`` probabilities (channel 0 start, channel 1 end).
    """

    def __init__(self, in_channels: int = 256, feat_channels: int = 256,
                 num_groups: Optional[int] = 16, conv_groups: int = 1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        layers = [nn.Conv1d(in_channels, feat_channels, 3, padding=1, groups=conv_groups)]
        if num_groups:
            layers.append(nn.GroupNorm(num_groups, feat_channels))
        layers += [nn.ReLU(inplace=True), nn.Conv1d(feat_channels, 2, 1), nn.Sigmoid()]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
