"""Convert the TSP R(2+1)D-34 checkpoint to the layout of ``SnippetEncoder``.

ETAD's end-to-end ActivityNet setting (Liu et al., ETAD, Appendix B.1 and
Table 4) fine-tunes an R(2+1)D-34 pretrained with TSP (Alwassel, Giancola,
Ghanem, "TSP: Temporally-Sensitive Pretraining of Video Encoders for
Localization Tasks", ICCVW 2021). TSP releases it in torchvision's
``VideoResNet`` layout (``torchvision.models.video.resnet``: ``BasicBlock``,
``Conv2Plus1D`` x 4, ``layers=[3, 4, 6, 3]``, ``R2Plus1dStem``) with the IG65M /
Caffe2 mid planes (288 / 576 / 1152 in ``layer{2,3,4}[0].conv2``) and BN
``eps=1e-3``, wrapped in TSP's model (backbone under ``features.``, heads
``fc`` / ``fc1`` / ``fc2``; the file itself stores ``{'model': state_dict, ...}``).

Layout difference (torchvision -> MMAction2, see
:mod:`etad_mmaction.models.backbones.r2plus1d_tv`)::

    stem.0 / .1 / .3 / .4        conv1.conv.conv_s / conv1.conv.bn_s / conv1.conv.conv_t / conv1.bn
    X.convC.0.0 / .0.1 / .0.3    X.convC.conv.conv_s / X.convC.conv.bn_s / X.convC.conv.conv_t
    X.convC.1                    X.convC.bn                  (X = layerL.B, C = 1, 2)
    layerL.0.downsample.0 / .1   layerL.0.downsample.conv / layerL.0.downsample.bn

The stem (45 mid channels, no max-pool) and the single-``Conv3d`` shortcut
have no counterpart in MMAction2's stock ``ResNet2Plus1d`` (83 mid channels,
max-pool, factorised shortcut), so the target is :class:`ResNet2Plus1dTV`,
the stock backbone with those parts in torchvision's form. The converted keys
are written with the prefix ``backbone.`` and load strictly through
``SnippetEncoder(pretrained=...)`` (as a stock MMAction2 ``Recognizer3D``
checkpoint does).
"""
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import List, Optional, Tuple

import torch
from mmengine.registry import DefaultScope

from mmaction.registry import MODELS

#: the TSP R(2+1)D-34 as an MMAction2 backbone config (ResNet2Plus1dTV)
TSP_R2PLUS1D_34 = dict(
    type='ResNet2Plus1dTV', depth=34, pretrained=None, pretrained2d=False,
    conv_cfg=dict(type='Conv2plus1d'),
    norm_cfg=dict(type='BN3d', requires_grad=True, eps=1e-3),
    act_cfg=dict(type='ReLU', inplace=True),
    conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1, with_pool1=False,
    inflate=(1, 1, 1, 1), spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2),
    zero_init_residual=False, stem_mid_channels=45, tv_shortcut=True)

_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
_CONV = r'(layer\d+\.\d+\.conv[12])'
_DOWN = r'(layer\d+\.\d+\.downsample)'
#: torchvision VideoResNet R(2+1)D name -> ResNet2Plus1dTV name
_RULES = [(re.compile('^' + src + '$'), dst) for src, dst in (
    (r'stem\.0\.weight', r'conv1.conv.conv_s.weight'),
    (r'stem\.1\.' + _BN, r'conv1.conv.bn_s.\1'),
    (r'stem\.3\.weight', r'conv1.conv.conv_t.weight'),
    (r'stem\.4\.' + _BN, r'conv1.bn.\1'),
    (_CONV + r'\.0\.0\.weight', r'\1.conv.conv_s.weight'),
    (_CONV + r'\.0\.1\.' + _BN, r'\1.conv.bn_s.\2'),
    (_CONV + r'\.0\.3\.weight', r'\1.conv.conv_t.weight'),
    (_CONV + r'\.1\.' + _BN, r'\1.bn.\2'),
    (_DOWN + r'\.0\.weight', r'\1.conv.weight'),
    (_DOWN + r'\.1\.' + _BN, r'\1.bn.\2'),
)]
#: classifier / TSP heads (``fc``, ``fc1``, ``fc2``), dropped
_HEAD = re.compile(r'^(module\.)?fc\d*\.')
_ANCHOR = 'stem.0.weight'


def _unwrap(ckpt) -> Mapping:
    """The parameter dict of a checkpoint (``{'model': ...}`` as TSP saves it,
    ``{'state_dict': ...}`` as MMEngine does, or a bare state dict)."""
    while isinstance(ckpt, Mapping) and not any(torch.is_tensor(v) for v in ckpt.values()):
        inner = next((ckpt[k] for k in ('model', 'state_dict')
                      if isinstance(ckpt.get(k), Mapping)), None)
        if inner is None:
            break
        ckpt = inner
    if not isinstance(ckpt, Mapping):
        raise TypeError(f'TSP R(2+1)D checkpoint: expected a state dict, got {type(ckpt).__name__}')
    return ckpt


def _map_key(name: str) -> Optional[str]:
    for pattern, dst in _RULES:
        if pattern.match(name):
            return pattern.sub(dst, name)
    return None


def _expected_shapes(backbone: dict) -> 'OrderedDict[str, Tuple[int, ...]]':
    """Parameter / buffer shapes of ``backbone``, built on the meta device."""
    scope = None if DefaultScope.get_current_instance() is not None else 'mmaction'
    with DefaultScope.overwrite_default_scope(scope), torch.device('meta'):
        model = MODELS.build(dict(backbone))
    return OrderedDict((k, tuple(v.shape)) for k, v in model.state_dict().items())


def _fmt(keys: List[str], limit: int = 20) -> str:
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return f'{keys[:limit]}{more}'


def tsp_r2plus1d_conversion(state_dict, backbone: Optional[dict] = None,
                            prefix: str = 'backbone.'):
    """Like :func:`convert_tsp_r2plus1d`; returns ``(converted, ignored_keys)``."""
    state = _unwrap(state_dict)
    anchors = [k for k in state if k == _ANCHOR or k.endswith('.' + _ANCHOR)]
    if not anchors:
        raise KeyError(f'not a torchvision R(2+1)D checkpoint: no {_ANCHOR!r} key (with any '
                       f'prefix) among its {len(state)} keys {_fmt(list(state), 8)}')
    if len(anchors) > 1:
        raise KeyError(f'ambiguous torchvision R(2+1)D checkpoint: several stems {anchors}')
    wrap = anchors[0][:-len(_ANCHOR)]             # e.g. 'features.', 'module.backbone.'

    converted, sources, ignored, unknown = {}, {}, [], []
    for key, value in state.items():
        rest = key[len(wrap):] if key.startswith(wrap) else None
        if (rest is not None and _HEAD.match(rest)) or (rest is None and _HEAD.match(key)):
            ignored.append(key)
            continue
        target = None if rest is None else _map_key(rest)
        if target is None:
            unknown.append(key)
            continue
        if not torch.is_tensor(value):
            raise TypeError(f'TSP R(2+1)D checkpoint: {key!r} is a {type(value).__name__}, '
                            'not a tensor')
        converted[target], sources[target] = value, key
    if unknown:
        raise KeyError(f'TSP R(2+1)D checkpoint: {len(unknown)} unknown key(s) (neither a '
                       f'torchvision VideoResNet R(2+1)D key under {wrap!r} nor an fc / TSP '
                       f'head key): {_fmt(unknown)}')

    expected = _expected_shapes(backbone or TSP_R2PLUS1D_34)
    for name in expected:       # checkpoints from before BN counted its batches
        if name.endswith('num_batches_tracked') and name not in converted \
                and name[:-len('num_batches_tracked')] + 'running_mean' in converted:
            converted[name] = torch.tensor(0, dtype=torch.long)
            sources[name] = '(filled with 0)'
    missing = [k for k in expected if k not in converted]
    extra = [sources[k] for k in converted if k not in expected]
    if missing or extra:
        raise KeyError(
            f'TSP R(2+1)D checkpoint does not match the backbone '
            f'{(backbone or TSP_R2PLUS1D_34)["type"]}: missing (backbone names) '
            f'{_fmt(missing)}; without a place in it (checkpoint names) {_fmt(extra)}')
    bad = [f'{sources[k]} -> {prefix}{k}: {tuple(converted[k].shape)} vs {expected[k]}'
           for k in expected if tuple(converted[k].shape) != expected[k]]
    if bad:
        hint = ''
        if any('.conv2.0.' in b for b in bad):
            hint = (' (mid planes of layer{2,3,4}.0.conv2: torchvision\'s stock r2plus1d '
                    'reuses conv1\'s; the IG65M / TSP R(2+1)D-34 uses 288/576/1152)')
        raise ValueError(f'TSP R(2+1)D checkpoint: shape mismatch{hint}: {_fmt(bad)}')
    out = OrderedDict((prefix + k, converted[k]) for k in expected)
    return out, ignored


def convert_tsp_r2plus1d(state_dict, backbone: Optional[dict] = None,
                         prefix: str = 'backbone.') -> 'OrderedDict[str, torch.Tensor]':
    """Map a torchvision ``VideoResNet`` R(2+1)D state dict (TSP release) to
    ``SnippetEncoder.backbone`` keys prefixed with ``prefix``.

    Args:
        state_dict: the TSP checkpoint (``{'model': ...}``), an MMEngine-style
            ``{'state_dict': ...}`` or a bare state dict. Backbone keys may
            carry any prefix (``features.``, ``module.``, ``backbone.``, ...),
            found from the stem key; ``fc`` / ``fc1`` / ``fc2`` heads are dropped.
        backbone (dict, optional): the target backbone config; default
            :data:`TSP_R2PLUS1D_34` (``ResNet2Plus1dTV``, depth 34).
        prefix (str): prefix of the returned keys. Default ``'backbone.'``.

    Returns:
        OrderedDict: the backbone's state dict, every key present.

    Raises:
        KeyError: unknown checkpoint keys, or missing backbone keys (listed).
        ValueError: shape mismatches (checkpoint key, backbone key, shapes).
    """
    return tsp_r2plus1d_conversion(state_dict, backbone, prefix)[0]
