"""Check every feature file of a config's datasets before a long run.

    python tools/data/check_features.py CONFIG [--splits train val test]
        [--cfg-options KEY=VALUE ...]

Opens each video's features once (the same reader training uses) and lists
every missing, unreadable (truncated, damaged, not an array), non-finite or
wrongly sized file, naming the video and the path. A split that selects no
video (a subset name not in the annotation file, every video without
annotations) is an error too, naming the subset, the file and the subsets it
holds; videos left out of a split are counted with the reason. Exits 1 if any
is bad.
"""
import argparse
import sys

import etad_mmaction  # noqa: F401  (registries)
from mmengine.config import Config, DictAction

from mmaction.registry import DATASETS
from etad_mmaction.datasets.check import check_feature_files


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='check the feature files of a config')
    p.add_argument('config')
    p.add_argument('--splits', nargs='+', default=['train', 'val', 'test'],
                   choices=['train', 'val', 'test'])
    p.add_argument('--max-errors', type=int, default=-1,
                   help='stop a split after this many bad files (default: list all)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, key=value')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    seen, bad = set(), 0
    for split in args.splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or not loader.get('dataset'):
            continue
        ds_cfg = dict(loader['dataset'])
        key = repr(sorted((k, repr(v)) for k, v in ds_cfg.items() if k != 'pipeline'))
        if key in seen:  # test_dataloader = val_dataloader
            continue
        seen.add(key)
        try:
            dataset = DATASETS.build(dict(ds_cfg, lazy_init=True))
            if not hasattr(dataset, 'feature_ext') or not hasattr(dataset, 'load_records'):
                print(f'{split}: {type(dataset).__name__} reads no feature files; skipped')
                continue
            checked, errors = check_feature_files(dataset, args.max_errors)
        except (OSError, ValueError) as err:  # no annotation file, no feature folder ...
            print(f'{split}: cannot check: {type(err).__name__}: {err}')
            bad += 1
            continue
        summary = dataset.selection_summary() if hasattr(dataset, 'selection_summary') \
            else None
        if checked == 0:
            print(f'{split}: no videos to check: {summary or "the dataset is empty"}; fix '
                  f'{split}_dataloader.dataset (subset, ann_file, exclude_videos)')
            bad += 1
            continue
        bad += len(errors)
        status = 'ok' if not errors else f'{len(errors)} bad'
        print(f'{split}: {checked} videos checked, {status}')
        if summary and 'dropped' in summary:
            print(f'  {summary}')
        for msg in errors:
            print(f'  {msg}')
    if bad:
        print(f'{bad} problem(s): bad feature files (fix or exclude them with '
              'exclude_videos=) or empty splits; fix them before training', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
