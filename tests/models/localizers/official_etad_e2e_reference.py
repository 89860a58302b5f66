"""Test-only restatement of the authors' end-to-end ETAD model (github.com/sming256/ETAD,
``lib/models/build_model.py`` ``TAL_model`` with ``E2E_SETTING.mode``,
``lib/models/backbone``), at inference.

Parts, with their parameter names (so their checkpoint keys load strictly):

* ``feature_extractor.model.backbone``: their ``ResNet2Plus1d_TSP``, a torchvision
  ``VideoResNet`` R(2+1)D (``BasicBlock``, ``R2Plus1dStem``, layers ``[3, 4, 6, 3]``)
  whose (2+1)D convolutions take their mid planes from their own in/out planes
  (288 / 576 / 1152 in each stage's first ``conv2``), BatchNorm eps 1e-3, ``fc`` empty;
* their feature extractor: ``(frames - mean) / std`` (the Recognizer3D's
  ``ActionDataPreprocessor``), the backbone on the snippets of ``chunk_size`` at a
  time in eval mode, features = mean over (T, H, W) -> ``[B, 512, M]``;
* ``base_detector``: :class:`official_etad_reference.ReferenceDetector`.

Checked against their code run outside the project (float64): equal to 0 on the
features and within 3e-15 on every detector output (see docs/method.md).
"""
import torch
from torch import nn
from torchvision.models.video import resnet as video_resnet

from official_etad_reference import ReferenceDetector

#: their config's normalisation (TSP statistics on [0, 255])
MEAN = (110.2008, 100.63983, 95.99475)
STD = (58.14765, 56.46975, 55.332195)


class _Conv2Plus1D(nn.Sequential):
    """(1, 3, 3) conv -> BN -> ReLU -> (3, 1, 1) conv; mid planes from in/out planes."""

    def __init__(self, in_planes, out_planes, midplanes, stride=1, padding=1):
        mid = (in_planes * out_planes * 27) // (in_planes * 9 + 3 * out_planes)
        super().__init__(
            nn.Conv3d(in_planes, mid, (1, 3, 3), (1, stride, stride), (0, padding, padding),
                      bias=False),
            nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
            nn.Conv3d(mid, out_planes, (3, 1, 1), (stride, 1, 1), (padding, 0, 0), bias=False))

    @staticmethod
    def get_downsample_stride(stride):
        return stride, stride, stride


def reference_tsp_backbone() -> nn.Module:
    net = video_resnet.VideoResNet(block=video_resnet.BasicBlock,
                                   conv_makers=[_Conv2Plus1D] * 4, layers=[3, 4, 6, 3],
                                   stem=video_resnet.R2Plus1dStem)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.eps = 1e-3
    net.fc = nn.Sequential()
    return net


class ReferenceEndToEnd(nn.Module):
    """``video [B, M, 3, L, H, W]`` (0..255), ``anchors [B, K, 2]`` (0..1) -> their
    ``(tem_out, [(anchors, iou, reg)] per stage)``; :meth:`features` -> ``[B, 512, M]``."""

    def __init__(self, tscale: int = 128, chunk_size: int = 4):
        super().__init__()
        self.feature_extractor = nn.Module()
        self.feature_extractor.model = nn.Module()
        self.feature_extractor.model.backbone = reference_tsp_backbone()
        self.base_detector = ReferenceDetector(in_channels=512, tscale=tscale)
        self.chunk_size = chunk_size
        self.register_buffer('mean', torch.tensor(MEAN).view(3, 1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(STD).view(3, 1, 1, 1), persistent=False)

    def features(self, video):
        backbone = self.feature_extractor.model.backbone.eval()
        out = []
        for chunk in torch.split(video, self.chunk_size, dim=1):
            b, n = chunk.shape[:2]
            x = ((chunk - self.mean) / self.std).flatten(0, 1)
            x = backbone.layer4(backbone.layer3(backbone.layer2(backbone.layer1(
                backbone.stem(x)))))
            out.append(x.mean(dim=(2, 3, 4)).view(b, n, -1).transpose(1, 2))
        return torch.cat(out, dim=2)

    def forward(self, video, anchors):
        return self.base_detector(self.features(video), anchors)
