"""R(2+1)D with the layout of torchvision's ``VideoResNet``, as used by TSP.

The TSP encoder (Alwassel et al., ICCVW 2021) that ETAD fine-tunes end to end
on ActivityNet (ETAD Appendix B.1, Table 4) is an R(2+1)D-34 built from
torchvision's ``VideoResNet`` with the IG65M / Caffe2 (VMZ) mid-plane fix.
MMAction2's stock :class:`~mmaction.models.ResNet2Plus1d` differs from it in
three places, so that checkpoint cannot be loaded into the stock backbone:

* stem: torchvision uses a fixed 45-channel (2+1)D stem
  (``conv(3->45, 1x7x7, stride 1x2x2) BN ReLU conv(45->64, 3x1x1) BN ReLU``);
  MMAction2's ``Conv2plus1d`` derives 83 mid channels for the same stem;
* no stem max-pooling in torchvision (MMAction2 adds a 1x3x3 / 2 max-pool);
* residual shortcut: torchvision uses one ``Conv3d`` 1x1x1 with stride
  ``(t, s, s)`` + BN; MMAction2 builds the shortcut with ``conv_cfg`` i.e. as
  a factorised ``Conv2plus1d`` (1x1x1 -> BN -> ReLU -> 1x1x1) + BN.

The residual blocks' (2+1)D convolutions are the same: both compute the mid
planes per convolution as ``floor(t*d^2*N_in*N_out / (d^2*N_in + t*N_out))``
(the IG65M / TSP R(2+1)D-34 replaces torchvision's 230/460/921 mid planes of
``layer{2,3,4}[0].conv2`` by 288/576/1152, which is MMAction2's value).

:class:`ResNet2Plus1dTV` is the stock backbone with only those three parts
changed, so module names (``conv1``, ``layer1`` ... ``layer4``), freezing
(``frozen_stages``), ``norm_eval`` and MMAction2 initialisation are unchanged.
"""
from typing import Optional, Sequence

from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model.weight_init import constant_init, kaiming_init
from torch import nn

from mmaction.models.backbones.resnet2plus1d import ResNet2Plus1d
from mmaction.models.backbones.resnet3d import ResNet3d
from mmaction.registry import MODELS
from mmaction.utils import get_str_type


def set_conv2plus1d_mid_channels(conv: nn.Module, mid_channels: int) -> nn.Module:
    """Rebuild the spatial / temporal halves of an MMAction2 ``Conv2plus1d``
    with ``mid_channels`` intermediate channels (same kernels, strides,
    paddings, bias and norm config)."""
    conv_s, conv_t = conv.conv_s, conv.conv_t
    conv.conv_s = nn.Conv3d(conv_s.in_channels, mid_channels, conv_s.kernel_size,
                            stride=conv_s.stride, padding=conv_s.padding,
                            bias=conv_s.bias is not None)
    _, conv.bn_s = build_norm_layer(conv.norm_cfg, mid_channels)
    conv.conv_t = nn.Conv3d(mid_channels, conv_t.out_channels, conv_t.kernel_size,
                            stride=conv_t.stride, padding=conv_t.padding,
                            bias=conv_t.bias is not None)
    kaiming_init(conv.conv_s)
    kaiming_init(conv.conv_t)
    constant_init(conv.bn_s, 1, bias=0)
    return conv


@MODELS.register_module()
class ResNet2Plus1dTV(ResNet2Plus1d):
    """MMAction2 ``ResNet2Plus1d`` with torchvision's ``VideoResNet`` R(2+1)D
    layout (stem, no max-pool, 1x1x1 ``Conv3d`` shortcut); see the module doc.

    The defaults are the TSP R(2+1)D-34 (Alwassel et al.; ETAD App. B.1):
    depth 34, temporal strides ``(1, 2, 2, 2)``, BN ``eps=1e-3`` (the IG65M /
    TSP models use Caffe2's epsilon). The BN inside each ``Conv2plus1d`` (between
    its spatial and temporal convolution) follows ``norm_cfg`` unless
    ``conv_cfg`` sets its own ``norm_cfg`` (stock MMAction2 always uses a
    default ``BN3d`` there, eps 1e-5). Weights of a torchvision-layout
    checkpoint are converted by
    :func:`etad_mmaction.models.converters.convert_tsp_r2plus1d`.

    Args:
        stem_mid_channels (int, optional): channels between the stem's 1x7x7
            and 3x1x1 convolutions; 45 in torchvision, ``None`` keeps
            MMAction2's formula (83).
        with_pool1 (bool): keep MMAction2's stem max-pool (torchvision: no).
        tv_shortcut (bool): 1x1x1 ``Conv3d`` + BN shortcut as in torchvision
            (``False``: MMAction2's factorised ``conv_cfg`` shortcut).
        **kwargs: the other :class:`~mmaction.models.ResNet3d` arguments.
    """

    def __init__(self,
                 depth: int = 34,
                 pretrained: Optional[str] = None,
                 pretrained2d: bool = False,
                 conv_cfg: dict = dict(type='Conv2plus1d'),
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True, eps=1e-3),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 conv1_kernel: Sequence[int] = (3, 7, 7),
                 conv1_stride_t: int = 1,
                 pool1_stride_t: int = 1,
                 with_pool1: bool = False,
                 inflate: Sequence[int] = (1, 1, 1, 1),
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 2, 2, 2),
                 zero_init_residual: bool = False,
                 stem_mid_channels: Optional[int] = 45,
                 tv_shortcut: bool = True,
                 **kwargs) -> None:
        conv_cfg = dict(conv_cfg)
        if get_str_type(conv_cfg.get('type')) == 'Conv2plus1d':
            # torchvision uses one BN kind everywhere; MMAction2's Conv2plus1d
            # otherwise builds its inner BN as BN3d with the default eps (1e-5)
            conv_cfg.setdefault('norm_cfg', dict(norm_cfg))
        # read by _make_stem_layer / make_res_layer during ResNet3d.__init__
        self.stem_mid_channels = stem_mid_channels
        self.tv_shortcut = tv_shortcut
        super().__init__(
            depth=depth, pretrained=pretrained, pretrained2d=pretrained2d,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            conv1_kernel=conv1_kernel, conv1_stride_t=conv1_stride_t,
            pool1_stride_t=pool1_stride_t, with_pool1=with_pool1, inflate=inflate,
            spatial_strides=spatial_strides, temporal_strides=temporal_strides,
            zero_init_residual=zero_init_residual, **kwargs)

    def _make_stem_layer(self) -> None:
        super()._make_stem_layer()
        if self.stem_mid_channels is not None:
            set_conv2plus1d_mid_channels(self.conv1.conv, self.stem_mid_channels)
        if not self.with_pool1:
            # ResNet2Plus1d.forward always calls self.maxpool
            self.maxpool = nn.Identity()

    def make_res_layer(self, block, inplanes: int, planes: int, blocks: int,
                       spatial_stride: int = 1, temporal_stride: int = 1,
                       **kwargs) -> nn.Module:
        layer = ResNet3d.make_res_layer(block, inplanes, planes, blocks,
                                        spatial_stride=spatial_stride,
                                        temporal_stride=temporal_stride, **kwargs)
        if self.tv_shortcut and layer[0].downsample is not None:
            layer[0].downsample = ConvModule(
                inplanes, planes * block.expansion, kernel_size=1,
                stride=(temporal_stride, spatial_stride, spatial_stride), bias=False,
                conv_cfg=dict(type='Conv3d'), norm_cfg=kwargs.get('norm_cfg'),
                act_cfg=None)
        return layer
