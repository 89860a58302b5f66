"""Boundary evaluation head of ETAD (Section 3.1): snippet startness and endness."""
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


@MODELS.register_module()
class BoundaryHead(BaseModule):
    """Two conv layers giving per-snippet start and end probabilities.

    Returns ``[B, 2, T]`` probabilities (channel 0 start, channel 1 end).
    """

    def __init__(self, in_channels: int = 256, feat_channels: int = 256,
                 num_groups: int = 16, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = nn.Sequential(
            nn.Conv1d(in_channels, feat_channels, 3, padding=1),
            nn.GroupNorm(num_groups, feat_channels), nn.ReLU(inplace=True),
            nn.Conv1d(feat_channels, 2, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
