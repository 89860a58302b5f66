"""Parameter names of the authors' released ETAD (github.com/sming256/ETAD) ->
``configs/etad/etad-official_1xb16-6e_anet-tsp-feature.py``.

Their detector flattens RoI features channel-major (``c * bins + j``); this
project's first FC layers read them bin-major (``j * C + c``), so those weight
columns are permuted. Their per-branch FC stacks (``nn.Sequential`` of Linear and
ReLU) become branches of ``ParallelMLP`` (``[in, out]`` weights).
"""
import re
from typing import Dict, Tuple

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
