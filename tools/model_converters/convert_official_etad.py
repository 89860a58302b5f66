"""Convert a checkpoint of the authors' released ETAD trainer to this project.

    python tools/model_converters/convert_official_etad.py SRC DST [--force]
    python tools/test.py configs/etad/etad-official_1xb16-6e_anet-tsp-feature.py DST

``SRC``: ``{'state_dict': ...}`` as their trainer saves it (``epoch_5.pth.tar``),
or a bare state dict, with or without ``module.`` prefixes. A feature-based
checkpoint (``base_detector.*``) becomes an ``ETAD`` checkpoint for
``configs/etad/etad-official_1xb16-6e_anet-tsp-feature.py``; an end-to-end one
(``feature_extractor.model.backbone.*`` too: their TSP R(2+1)D-34) an
``ETADEndToEnd`` checkpoint for
``configs/etad_e2e/etad-e2e-official_r2plus1d-34-tsp_1xb4-6e_anet.py``. ``DST``
is an MMEngine checkpoint that the preset (or ``--config``) loads strictly; an
existing ``DST`` is replaced only with ``--force``, never ``SRC``.
"""
import argparse
import os.path as osp
import sys

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help="the authors' checkpoint (.pth / .pth.tar)")
    parser.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    parser.add_argument('--config', default=None,
                        help='check that DST loads strictly into this config (default: the '
                             'official preset of the checkpoint\'s kind, next to this tool)')
    parser.add_argument('--force', action='store_true',
                        help='replace DST when it exists (never when it is SRC)')
    return parser.parse_args(argv)


PRESETS = dict(feature=('etad', 'etad-official_1xb16-6e_anet-tsp-feature.py'),
               e2e=('etad_e2e', 'etad-e2e-official_r2plus1d-34-tsp_1xb4-6e_anet.py'))


def main(argv=None) -> int:
    args = parse_args(argv)
    from etad_mmaction.fileio import OutputPathError, check_output_path
    try:
        check_output_path(args.dst, sources=[args.src], force=args.force)
    except OutputPathError as err:
        raise SystemExit(f'error: {err}') from None
    import etad_mmaction  # noqa: F401  (registers the modules)
    from etad_mmaction.fileio import atomic_path
    from etad_mmaction.models.converters import (convert_official_e2e_state_dict,
                                                 convert_official_state_dict, is_official_e2e)
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    try:
        ckpt = torch.load(args.src, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - name the file whatever torch raises
        raise SystemExit(f'cannot read {args.src}: {err}') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise SystemExit(f'{args.src} holds no state dict of tensors')
    kind = 'e2e' if is_official_e2e(state) else 'feature'
    try:
        converted = (convert_official_e2e_state_dict if kind == 'e2e'
                     else convert_official_state_dict)(state)
    except (KeyError, ValueError) as err:
        raise SystemExit(f'{args.src}: {err.args[0]}') from None
    config = args.config or osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs',
                                     *PRESETS[kind])
    cfg = Config.fromfile(config).model
    if kind == 'e2e':
        cfg.encoder.pop('pretrained', None)     # shapes only: no weights are read
        cfg.encoder.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmaction'):
        own = MODELS.build(cfg).state_dict()
    missing = sorted(set(own) - set(converted))
    unexpected = sorted(set(converted) - set(own))
    shapes = [f'{k} {tuple(v.shape)} (config: {tuple(own[k].shape)})'
              for k, v in converted.items() if k in own and v.shape != own[k].shape]
    if missing or unexpected or shapes:
        raise SystemExit(f'{args.src} does not fit {config}: missing {missing[:8]}, '
                         f'unexpected {unexpected[:8]}, other shapes {shapes[:8]}')
    meta = dict(converted_from=osp.abspath(args.src), config=osp.abspath(config), kind=kind,
                epoch=ckpt.get('epoch') if isinstance(ckpt, dict) else None)
    with atomic_path(args.dst) as tmp:
        torch.save(dict(meta=meta, state_dict=converted), tmp)
    print(f'wrote {args.dst} ({len(converted)} tensors, {kind} checkpoint) for {config}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
