"""Generate a semi-synthetic temporal action detection dataset.

Examples::

    # 400 + 100 videos with ActivityNet-like statistics
    python tools/data/generate_synthetic.py data/synthetic_anet --num-train 400 --num-val 100

    # features for real THUMOS-14 ground truth, evaluation only (no training videos)
    python tools/data/generate_synthetic.py data/synthetic_thumos \
        --annotation-file ../shared/data/thumos14/thumos14.json --num-train 0 --num-val 50 \
        --allow-no-train

``--overwrite`` replaces only a dataset this generator made (its ``meta.json``); any
other folder at ROOT is refused. A dataset without training videos is refused unless
``--allow-no-train``.

Every parameter of ``etad_mmaction.datasets.synthetic.SyntheticParams`` is an
option (``--name-with-dashes``); see that module for the feature model and the
output layout (plugin format + MMAction2 BMN format).
"""
import argparse
import dataclasses
import sys
import typing


def build_parser() -> argparse.ArgumentParser:
    from etad_mmaction.datasets.synthetic import SyntheticParams
    parser = argparse.ArgumentParser(
        description='Generate a semi-synthetic TAD dataset (plugin + MMAction2 BMN formats).')
    parser.add_argument('root', help='output folder (must not exist unless --overwrite)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a dataset this generator made (never another folder)')
    parser.add_argument('--allow-no-train', action='store_true',
                        help='allow zero training videos (an evaluation-only dataset)')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    hints = typing.get_type_hints(SyntheticParams)
    for field in dataclasses.fields(SyntheticParams):
        flag = '--' + field.name.replace('_', '-')
        kind = hints[field.name]
        args = typing.get_args(kind)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), kind) if args else kind
        if base is bool:
            parser.add_argument(flag, dest=field.name, default=field.default,
                                action=argparse.BooleanOptionalAction,
                                help=f'default: {field.default}')
            continue

        def convert(text, base=base, optional=optional):
            if optional and text.lower() in ('none', 'all'):
                return None
            return base(text)

        parser.add_argument(flag, dest=field.name, default=field.default, type=convert,
                            metavar=base.__name__.upper(), help=f'default: {field.default}')
    return parser


def main(argv=None) -> str:
    from etad_mmaction.datasets.synthetic import SyntheticParams, generate_synthetic_dataset
    args = vars(build_parser().parse_args(argv))
    root = args.pop('root')
    overwrite = args.pop('overwrite')
    allow_no_train = args.pop('allow_no_train')
    progress = not args.pop('no_progress')
    params = {f.name: args[f.name] for f in dataclasses.fields(SyntheticParams)}
    out = generate_synthetic_dataset(root, overwrite=overwrite, progress=progress,
                                     allow_no_train=allow_no_train, **params)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    try:
        main()
    except (FileExistsError, ValueError) as err:
        sys.exit(f'error: {err}')
