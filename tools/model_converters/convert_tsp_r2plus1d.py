"""Convert the TSP R(2+1)D-34 checkpoint for ``SnippetEncoder(pretrained=...)``.

Example::

    python tools/model_converters/convert_tsp_r2plus1d.py \
        r2plus1d_34-tsp_on_activitynet-max_gvf-backbone_lr_0.0001-fc_lr_0.002-epoch_5-0d2cf854.pth \
        pretrained/r2plus1d_34-tsp_on_activitynet_mmaction.pth

The output is an MMEngine-style ``dict(state_dict=..., meta=...)`` whose
``backbone.*`` keys fit the ``ResNet2Plus1dTV`` backbone; see
``etad_mmaction.models.converters.tsp_r2plus1d`` for the layout difference.
"""
import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a TSP (torchvision VideoResNet) R(2+1)D-34 checkpoint to the '
                    'SnippetEncoder / ResNet2Plus1dTV layout.')
    parser.add_argument('src', help='TSP checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth), written atomically')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load SRC with weights_only=False (only for a file you trust, if '
                             'it holds Python objects that the safe loader refuses)')
    parser.add_argument('--force', action='store_true',
                        help='replace DST when it exists (never when it is SRC)')
    return parser.parse_args(argv)


def load_source(path: str, unsafe: bool = False):
    import argparse as _argparse

    import torch
    if unsafe:
        return torch.load(path, map_location='cpu', weights_only=False)
    # TSP training checkpoints may store their argparse Namespace next to 'model'
    with torch.serialization.safe_globals([_argparse.Namespace]):
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except Exception as err:  # pickle.UnpicklingError and friends
            raise SystemExit(f'error: cannot load {path} with weights_only=True ({err}).\n'
                             'If you trust the file, rerun with --unsafe-load.') from err


def main(argv=None):
    args = parse_args(argv)
    from etad_mmaction.fileio import OutputPathError, check_output_path
    try:
        check_output_path(args.dst, sources=[args.src], force=args.force)
    except OutputPathError as err:
        raise SystemExit(f'error: {err}') from None
    import torch

    import etad_mmaction
    from etad_mmaction.models.converters.tsp_r2plus1d import (TSP_R2PLUS1D_34,
                                                             tsp_r2plus1d_conversion)

    if not osp.isfile(args.src):
        raise SystemExit(f'error: {args.src} is not a file')
    ckpt = load_source(args.src, args.unsafe_load)
    try:
        state_dict, ignored = tsp_r2plus1d_conversion(ckpt)
    except (KeyError, ValueError, TypeError) as err:
        raise SystemExit(f'error: {args.src}: {err.args[0] if err.args else err}') from err
    meta = dict(
        converted_from=osp.basename(args.src),
        converter='etad_mmaction.models.converters.tsp_r2plus1d.convert_tsp_r2plus1d',
        etad_mmaction_version=etad_mmaction.__version__,
        backbone=dict(TSP_R2PLUS1D_34),
        ignored_keys=list(ignored))
    dst = osp.abspath(args.dst)
    from etad_mmaction.fileio import atomic_path
    with atomic_path(dst) as tmp:
        torch.save(dict(state_dict=state_dict, meta=meta), tmp)
    print(f'{args.src}: {len(state_dict)} tensors -> {args.dst} '
          f'(ignored {len(ignored)} head keys: {ignored})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
