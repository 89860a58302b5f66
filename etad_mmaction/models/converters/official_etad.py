"""Parameter names of the authors' released ETAD (github.com/sming256/ETAD) ->
``configs/etad/etad-official_1xb16-6e_anet-tsp-feature.py`` (their feature-based
detector) and ``configs/etad_e2e/etad-e2e-official_r2plus1d-34-tsp_1xb4-6e_anet.py``
(their end-to-end model: TSP R(2+1)D-34 encoder + detector).

Their detector flattens RoI features channel-major (``c * bins + j``); this
project's first FC layers read them bin-major (``j * C + c``), so those weight
columns are permuted. Their per-branch FC stacks (``nn.Sequential`` of Linear and
ReLU) become branches of ``ParallelMLP`` (``[in, out]`` weights).
"""
import re
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

_PREFIXES = ('module.', 'base_detector.')
_NECK = {'layer1': 'input_conv', 'mem_f': 'lstm_fwd', 'mem_b': 'lstm_bwd',
         'layer2_f': 'conv_fwd', 'layer2_b': 'conv_bwd', 'layer2_d': 'conv_res',
         'layer3': 'fuse'}
# their extended-feature branches -> ParallelMLP branch of ``extended_mlp``
_EXTENDED = {'reg_cw_fc': 0, 'cls_se_fc': 1, 'iou_fc': 2}
# their start/end regressors -> branch of ``boundary_mlp``
_BOUNDARY = {'reg_s_fc': 0, 'reg_e_fc': 1}


def _strip(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if key.startswith(p):
                key, changed = key[len(p):], True
    return key


def _bin_major(weight: Tensor, channels: int) -> Tensor:
    """``[out, C * bins]`` channel-major columns -> bin-major ``[out, bins * C]``."""
    out, total = weight.shape
    return weight.view(out, channels, total // channels).transpose(1, 2).reshape(out, total)


def convert_official_state_dict(state: Dict[str, Tensor], roi_channels: int = 128
                                ) -> Dict[str, Tensor]:
    """The authors' detector state dict (``model.module.state_dict()`` of their
    trainer; ``module.`` / ``base_detector.`` prefixes optional) -> this project's
    ``ETAD`` state dict. Raises ``KeyError`` naming every key it cannot map."""
    out: Dict[str, Tensor] = {}
    mlp: Dict[Tuple[str, int, int, str], Tensor] = {}   # (mlp, layer, branch, kind)
    unmapped = []
    for raw_key, value in state.items():
        key = _strip(raw_key)
        m = re.fullmatch(r'temporal_enhance\.(\w+?)\.(.+)', key)
        if m and m.group(1) in _NECK:
            out[f'neck.{_NECK[m.group(1)]}.{m.group(2)}'] = value
            continue
        m = re.fullmatch(r'tem\.([02])\.(weight|bias)', key)
        if m:
            out[f'boundary_head.layers.{m.group(1)}.{m.group(2)}'] = value
            continue
        m = re.fullmatch(r'stage_conv\.(\d+)\.0\.(weight|bias)', key)
        if m:
            out[f'roi_head.stages.{m.group(1)}.residual.0.{m.group(2)}'] = value
            continue
        m = re.fullmatch(r'stage_pem\.(\d+)\.(\w+)\.(\d+)\.(weight|bias)', key)
        if m:
            stage, part, idx, kind = m.group(1), m.group(2), int(m.group(3)), m.group(4)
            prefix = f'roi_head.stages.{stage}'
            if part == 'reduce_dim_before' and idx == 0:
                out[f'{prefix}.reduce.0.{kind}'] = value
                continue
            if part == 'reduce_dim_ext' and idx == 0:
                out[f'{prefix}.extended_shared.{kind}'] = (
                    _bin_major(value, roi_channels) if kind == 'weight' else value)
                continue
            if part in _EXTENDED or part in _BOUNDARY:
                if idx % 2 == 0:                       # Linear layers at 0, 2, 4, ...
                    if kind == 'weight' and part in _BOUNDARY and idx == 0:
                        value = _bin_major(value, roi_channels)
                    name = 'extended_mlp' if part in _EXTENDED else 'boundary_mlp'
                    branch = _EXTENDED.get(part, _BOUNDARY.get(part))
                    mlp[(f'{prefix}.{name}', idx // 2, branch, kind)] = value
                    continue
        unmapped.append(raw_key)
    if unmapped:
        raise KeyError(f'{len(unmapped)} parameter(s) of the checkpoint have no place in '
                       f'the official-code preset: {unmapped[:8]}')
    groups = {}
    for (name, layer, branch, kind), value in mlp.items():
        groups.setdefault((name, layer, kind), {})[branch] = value
    for (name, layer, kind), branches in sorted(groups.items()):
        want = 3 if name.endswith('extended_mlp') else 2
        if sorted(branches) != list(range(want)):
            raise KeyError(f'{name} layer {layer} ({kind}): branches {sorted(branches)} '
                           f'of {want} found in the checkpoint')
        stacked = [branches[b] for b in range(want)]
        if kind == 'weight':
            out[f'{name}.weights.{layer}'] = torch.stack([w.t() for w in stacked])
        else:
            out[f'{name}.biases.{layer}'] = torch.stack([b.view(1, -1) for b in stacked])
    return out


#: where the authors' end-to-end ``TAL_model`` keeps its parts
E2E_ENCODER_PREFIX = 'feature_extractor.'
E2E_DETECTOR_PREFIX = 'base_detector.'


def is_official_e2e(state: Dict[str, Tensor]) -> bool:
    """Whether ``state`` is of the authors' end-to-end model (has encoder keys)."""
    return any((k[7:] if k.startswith('module.') else k).startswith(E2E_ENCODER_PREFIX)
               for k in state)


def convert_official_e2e_state_dict(state: Dict[str, Tensor], roi_channels: int = 128,
                                    backbone: Optional[dict] = None) -> Dict[str, Tensor]:
    """The authors' end-to-end ``TAL_model`` state dict (``feature_extractor.model.
    backbone.*``: their TSP R(2+1)D-34 in torchvision's layout; ``base_detector.*``)
    -> ``ETADEndToEnd`` keys (``encoder.backbone.*`` through
    :func:`~.tsp_r2plus1d.convert_tsp_r2plus1d`, ``detector.*`` through
    :func:`convert_official_state_dict`). ``KeyError`` names what cannot be mapped."""
    from .tsp_r2plus1d import convert_tsp_r2plus1d
    encoder, detector, other = {}, {}, []
    for key, value in state.items():
        bare = key[len('module.'):] if key.startswith('module.') else key
        if bare.startswith(E2E_ENCODER_PREFIX):
            encoder[bare] = value
        elif bare.startswith(E2E_DETECTOR_PREFIX):
            detector[bare] = value
        else:
            other.append(key)
    if other or not encoder or not detector:
        raise KeyError(f'not the authors\' end-to-end checkpoint: {len(other)} key(s) outside '
                       f'{E2E_ENCODER_PREFIX!r} / {E2E_DETECTOR_PREFIX!r} {other[:8]}, '
                       f'{len(encoder)} encoder and {len(detector)} detector keys')
    out = dict(convert_tsp_r2plus1d(encoder, backbone, prefix='encoder.backbone.'))
    out.update({f'detector.{k}': v for k, v in
                convert_official_state_dict(detector, roi_channels).items()})
    return out
