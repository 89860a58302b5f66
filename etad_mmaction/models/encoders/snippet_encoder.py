"""Snippet feature encoder for end-to-end ETAD (Section 3.2.1, Appendix B.1 / F).

Wraps any MMAction2 backbone (``ResNetTSM`` and other 2-D backbones, or 3-D
backbones such as ``ResNet2Plus1d`` / ``ResNet3dSlowOnly``) and turns the
snippets of a video ``[M, C, T, H, W]`` into one feature vector per snippet by
global average pooling over time and space.
"""
import inspect
import os.path as osp
from collections import OrderedDict
from typing import Optional, Union

from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS

#: keys of a recognizer checkpoint that the encoder ignores
IGNORED_PREFIXES = ('cls_head.', 'data_preprocessor.')


def _is_2d_backbone(backbone: nn.Module) -> bool:
    if hasattr(backbone, 'num_segments'):      # TSM, TIN, MobileNetV2TSM, ...
        return True
    try:
        from mmaction.models.backbones import ResNet
        from mmaction.models.backbones.resnet3d import ResNet3d
    except ImportError:                        # pragma: no cover
        return False
    return isinstance(backbone, ResNet) and not isinstance(backbone, ResNet3d)


def _accepts(type_name, arg: str) -> bool:
    cls = MODELS.get(type_name) if isinstance(type_name, str) else type_name
    if cls is None:
        return False
    try:
        return arg in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


@MODELS.register_module()
class SnippetEncoder(BaseModule):
    """Per-snippet features from an MMAction2 backbone.

    Args:
        backbone (dict): an MMAction2 backbone config. For ``ResNetTSM``,
            ``num_segments`` must equal the frames per snippet ``T`` (each
            snippet is one TSM group, so the temporal shift never mixes
            snippets).
        frozen_stages (int): stages whose parameters are fixed (MMAction2
            semantics: ``k >= 0`` freezes the stem and stages ``1..k``; ``-1``
            freezes nothing). Default 2 (Table 13). Written into the backbone
            config; a different ``backbone.frozen_stages`` is a config error.
        freeze_bn (bool): keep *every* BatchNorm in eval mode (running stats
            fixed) with its affine parameters frozen (App. B.1). Default True.
            This also makes the encoder a per-snippet function, which is what
            makes EGS exact (snippets batched differently give equal features).
            ``'stats'``: every BatchNorm in eval mode (running statistics fixed,
            so still a per-snippet function) but the affine parameters of the
            unfrozen stages train: the authors' released end-to-end code
            (``norm_eval=True``; their optimiser keeps parameters whose name
            lacks ``bn``, which is every BatchNorm of torchvision's layout).
        input_format (str, optional): ``'2d'`` (frames through a 2-D backbone,
            ``[M*T, C, H, W]``) or ``'3d'`` (``[M, C, T, H, W]``); detected
            from the backbone when omitted.
        pretrained (str, optional): a checkpoint (e.g. of an MMAction2
            ``Recognizer2D`` / ``Recognizer3D``) whose ``backbone.*`` weights are
            loaded strictly (``cls_head.*`` ignored).
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...,
            prefix='backbone.')`` is handled like ``pretrained`` (strict, with
            the given prefix); other init configs go to MMEngine.

    Shapes: ``forward(x)`` takes ``[M, C, T, H, W]`` or ``[B, M, C, T, H, W]``
    and returns ``[M, D]`` or ``[B, M, D]``.
    """

    def __init__(self, backbone: dict, frozen_stages: int = 2,
                 freeze_bn: Union[bool, str] = True,
                 input_format: Optional[str] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        self.checkpoint, self.checkpoint_prefix = None, 'backbone.'
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            self.checkpoint = init_cfg['checkpoint']
            self.checkpoint_prefix = init_cfg.get('prefix', '')
            init_cfg = None
        if pretrained is not None:
            if self.checkpoint is not None and self.checkpoint != pretrained:
                raise ValueError('model.encoder: both `pretrained` and init_cfg '
                                 f'Pretrained are set ({pretrained!r} vs {self.checkpoint!r})')
            if self.checkpoint is None:
                self.checkpoint, self.checkpoint_prefix = pretrained, 'backbone.'
        super().__init__(init_cfg=init_cfg)
        if not isinstance(frozen_stages, int) or frozen_stages < -1:
            raise ValueError(f'model.encoder.frozen_stages must be an int >= -1, '
                             f'got {frozen_stages!r}')
        backbone = dict(backbone)
        if backbone.get('frozen_stages', frozen_stages) != frozen_stages:
            raise ValueError(
                f'model.encoder.frozen_stages={frozen_stages} conflicts with '
                f'model.encoder.backbone.frozen_stages={backbone["frozen_stages"]}; set one')
        backbone['frozen_stages'] = frozen_stages
        if freeze_bn not in (True, False, 'stats'):
            raise ValueError(f"model.encoder.freeze_bn must be True, False or 'stats', "
                             f'got {freeze_bn!r}')
        if freeze_bn:
            backbone['norm_eval'] = True
        # the encoder loads weights itself; keep the backbone from looking for them
        if backbone.get('pretrained') is None and 'pretrained2d' not in backbone \
                and _accepts(backbone.get('type'), 'pretrained2d'):
            backbone['pretrained2d'] = False   # else MMAction2 loads `None` as a 2-D checkpoint
        # MMAction2 backbones build registered layers (e.g. ``Conv2plus1d``) through
        # MMCV, which needs the ``mmaction`` default scope; runners set it, tests may not
        scope = None if DefaultScope.get_current_instance() is not None else 'mmaction'
        with DefaultScope.overwrite_default_scope(scope):
            self.backbone = MODELS.build(backbone)
        self.frozen_stages = frozen_stages
        self.freeze_bn = freeze_bn
        if input_format is None:
            input_format = '2d' if _is_2d_backbone(self.backbone) else '3d'
        if input_format not in ('2d', '3d'):
            raise ValueError(f"model.encoder.input_format must be '2d' or '3d', "
                             f'got {input_format!r}')
        self.input_format = input_format
        #: feature channels ``D`` when the backbone reports them (MMAction2's
        #: ResNet family: ``feat_dim``), else None
        self.out_channels = getattr(self.backbone, 'feat_dim', None)
        self._apply_freezing()

    # ------------------------------------------------------------ freezing
    def frozen_modules(self):
        """The stem and the first ``frozen_stages`` residual stages."""
        mods = []
        if self.frozen_stages >= 0:
            for name in ('conv1', 'bn1'):
                if hasattr(self.backbone, name):
                    mods.append(getattr(self.backbone, name))
        for i in range(1, self.frozen_stages + 1):
            if not hasattr(self.backbone, f'layer{i}'):
                raise ValueError(f'model.encoder.frozen_stages={self.frozen_stages} but the '
                                 f'backbone {type(self.backbone).__name__} has no layer{i}')
            mods.append(getattr(self.backbone, f'layer{i}'))
        return mods

    def _apply_freezing(self):
        for mod in self.frozen_modules():
            mod.eval()
            for p in mod.parameters():
                p.requires_grad = False
        if self.freeze_bn:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
                    if self.freeze_bn != 'stats':
                        for p in m.parameters(recurse=False):
                            p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)           # the backbone applies its own freezing / norm_eval
        self._apply_freezing()        # ... and we enforce ours whatever the backbone does
        return self

    # ------------------------------------------------------------ weights
    def init_weights(self):
        if self.checkpoint is None:
            super().init_weights()
        else:
            self.load_checkpoint(self.checkpoint, self.checkpoint_prefix)
            self._is_init = True
        self._apply_freezing()

    def load_checkpoint(self, filename: str, prefix: str = 'backbone.'):
        """Strictly load ``prefix``-keys of ``filename`` into the backbone.

        Keys under ``cls_head.`` / ``data_preprocessor.`` are ignored; any other
        unexpected key, any missing backbone key or a shape mismatch raises a
        ``KeyError`` / ``ValueError`` naming the file and the keys.
        """
        ckpt = _load_checkpoint(filename, map_location='cpu')
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
        state = OrderedDict((k[7:] if k.startswith('module.') else k, v)
                            for k, v in state.items())
        own = self.backbone.state_dict()
        loaded, unexpected = OrderedDict(), []
        for key, value in state.items():
            if prefix and not key.startswith(prefix):
                if not key.startswith(IGNORED_PREFIXES):
                    unexpected.append(key)
                continue
            name = key[len(prefix):]
            if name in own:
                loaded[name] = value
            else:
                unexpected.append(key)
        missing = [prefix + k for k in own if k not in loaded]
        name = osp.basename(str(filename))
        if missing or unexpected:
            raise KeyError(
                f'model.encoder: checkpoint {filename!r} does not match the backbone '
                f'{type(self.backbone).__name__}: missing keys {missing[:20]}'
                f'{" ..." if len(missing) > 20 else ""} ({len(missing)}), unexpected keys '
                f'{unexpected[:20]}{" ..." if len(unexpected) > 20 else ""} ({len(unexpected)})')
        bad = [f'{prefix}{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}'
               for k, v in loaded.items() if tuple(v.shape) != tuple(own[k].shape)]
        if bad:
            raise ValueError(f'model.encoder: shape mismatch loading {name}: {bad[:20]}')
        self.backbone.load_state_dict(loaded, strict=True)
        return self

    # ------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 6:
            b, m = x.shape[:2]
            return self.forward(x.flatten(0, 1)).view(b, m, -1)
        if x.dim() != 5:
            raise ValueError(f'SnippetEncoder expects snippets [M, C, T, H, W] or '
                             f'[B, M, C, T, H, W], got {tuple(x.shape)}')
        m, c, t, h, w = x.shape
        if m == 0:
            raise ValueError('SnippetEncoder got no snippets (M=0)')
        if self.input_format == '2d':
            segs = getattr(self.backbone, 'num_segments', t)
            if segs != t:
                raise ValueError(f'model.encoder.backbone.num_segments={segs} must equal the '
                                 f'frames per snippet T={t}')
            frames = x.transpose(1, 2).reshape(m * t, c, h, w)
            out = self.backbone(frames)
            if isinstance(out, (tuple, list)):
                out = out[-1]
            out = out.reshape(m, out.shape[0] // m, out.shape[1], -1)   # [M, T', D, hw]
            feat = out.mean(dim=(1, 3))
        else:
            out = self.backbone(x)
            if isinstance(out, (tuple, list)):
                out = out[-1]
            feat = out.flatten(2).mean(dim=2)                           # [M, D]
        return feat
